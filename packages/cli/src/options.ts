import { InvalidArgumentError } from 'commander';

/** Parser for an integer option within [min, max] (commander argParser). */
export function intInRange(name: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${value}'.`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}, got ${value}.`);
    return n;
  };
}

/** Parser for a positive number option, e.g. `--flops-max 150` (MFLOPs). */
export function positiveNumber(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${value}'.`);
    return n;
  };
}

/** Parser for one of a closed set of strings. */
export function oneOf<T extends string>(name: string, choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got '${value}'.`);
    return value as T;
  };
}
