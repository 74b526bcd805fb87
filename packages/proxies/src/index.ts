/**
 * @metad2a/proxies — zero-cost (training-free) architecture scores in tfjs on the NB201
 * TinyNetwork of `@metad2a/arch-trainer`: NASWOT and synflow, registered by name in core's
 * `zeroCostProxies` on import (baselines, and the search's optional re-ranking term).
 */
import { registerZeroCostProxies } from './proxies';

export { addActivationCodes, logAbsDeterminant, naswot } from './naswot';
export { synflow } from './synflow';
export { NASWOT, SYNFLOW, NB201_PROXY_NETWORK, registerZeroCostProxies, proxyBatch, proxyBatchOf, scoreWithProxy } from './proxies';

registerZeroCostProxies();
