import { MetaD2AException, parseError, saveCheckpointSync, loadCheckpointSync, unwrap, Rng } from '@metad2a/core';
import { TinyNetwork, type TinyNetworkConfig } from './network';
import type { TrainRecipe } from './recipe';

export const SAVED_NETWORK_FORMAT = 'metad2a-nb201-network/1';

/** What a saved network file carries besides its tensors. */
export interface SavedNetworkMeta {
  readonly format: typeof SAVED_NETWORK_FORMAT;
  readonly config: Required<TinyNetworkConfig>;
  readonly recipe?: TrainRecipe;
  /** Anything else worth keeping (accuracy, dataset, seed...). */
  readonly info?: Record<string, unknown>;
}

/**
 * Save a network as a metad2a checkpoint (one file, written atomically): its full state_dict
 * under the official PyTorch names and layouts, and its config in the header. Load it back with
 * {@link loadNetwork}.
 */
export function saveNetwork(file: string, net: TinyNetwork, extra: { recipe?: TrainRecipe; info?: Record<string, unknown> } = {}): void {
  const meta: SavedNetworkMeta = { format: SAVED_NETWORK_FORMAT, config: net.config, ...extra };
  saveCheckpointSync(file, { meta: meta as unknown as Record<string, unknown>, tensors: net.stateDict() });
}

/** Rebuild a network saved by {@link saveNetwork}; errors name the file and what is wrong. */
export function loadNetwork(file: string): { network: TinyNetwork; meta: SavedNetworkMeta } {
  const ckpt = unwrap(loadCheckpointSync(file));
  const meta = ckpt.meta as unknown as SavedNetworkMeta;
  if (meta.format !== SAVED_NETWORK_FORMAT || typeof meta.config !== 'object' || meta.config === null) {
    throw new MetaD2AException(parseError({ source: file, field: 'meta.format', expected: `'${SAVED_NETWORK_FORMAT}' with a config`, got: JSON.stringify(meta.format) }));
  }
  const network = new TinyNetwork(meta.config, new Rng(0));
  try {
    network.loadStateDict(ckpt.tensors, file);
  } catch (err) {
    network.dispose();
    throw err;
  }
  return { network, meta };
}
