import { ConfigError } from './errors.js';
import { nearestNames } from './nearest-names.js';

/** A class or a factory function a registry can hold. */
export type Buildable<T> = (new (...args: any[]) => T) | ((...args: any[]) => T);

/** A config object: `type` names the entry, every other key is an argument. */
export interface BuildConfig {
  type?: string | Buildable<unknown>;
  [key: string]: unknown;
}

/** Turns a registry entry and its arguments into an object. */
export type BuildFunc<T> = (target: Buildable<T>, args: Record<string, unknown>, context?: unknown) => T;

/** The {@link RegistryOptions.unknownNameHint} of registries that configs extend through `customImports`. */
export const CUSTOM_IMPORTS_HINT = 'is it registered by a module you forgot to list in customImports?';

/** Options of {@link Registry}. */
export interface RegistryOptions<T> {
  parent?: Registry<any>;
  /** Prefix that names this registry in scoped keys (`scope.Name`); default `hookflow`. */
  scope?: string;
  /** How entries are built; default: the parent's, else `new Class(args)` / `fn(args)`. */
  buildFunc?: BuildFunc<T>;
  /**
   * A question asked first when a name is not registered (configs: "is it registered by a
   * module you forgot to list in customImports?"); the nearest names follow it.
   */
  unknownNameHint?: string;
}

/** Options of {@link Registry.register}. */
export interface RegisterOptions {
  /** Name(s) to register under; default: the class or function name. */
  name?: string | string[];
  /** Replace an existing entry of the same name. */
  force?: boolean;
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/** Default construction: classes get `new`, plain functions are called, both with one args object. */
export const defaultBuild: BuildFunc<unknown> = (target, args) =>
  isClass(target) ? new (target as new (a: unknown) => unknown)(args) : (target as (a: unknown) => unknown)(args);

/**
 * A name → class (or factory) table with MMCV's semantics: scoped keys (`scope.Name`) reach
 * child registries or go through the root; unscoped names are looked up locally only.
 */
export class Registry<T = unknown> {
  readonly scope: string;
  readonly parent?: Registry<any>;
  readonly children = new Map<string, Registry<any>>();
  private readonly table = new Map<string, Buildable<T>>();
  private readonly buildFunc: BuildFunc<T>;
  private readonly unknownNameHint: string | undefined;

  constructor(readonly name: string, options: RegistryOptions<T> = {}) {
    this.scope = options.scope ?? 'hookflow';
    this.parent = options.parent;
    this.buildFunc = options.buildFunc ?? (options.parent?.buildFunc as BuildFunc<T> | undefined) ?? (defaultBuild as BuildFunc<T>);
    this.unknownNameHint = options.unknownNameHint;
    if (this.parent) {
      if (this.parent.children.has(this.scope)) {
        throw new Error(`registry '${this.parent.name}' already has a child with scope '${this.scope}'`);
      }
      this.parent.children.set(this.scope, this);
    }
  }

  /** Number of registered names. */
  get size(): number {
    return this.table.size;
  }

  /** Registers `target` now and returns it (usable as `Registry.register(MyHook)` in plain JS). */
  register<C extends Buildable<T>>(target: C, options: RegisterOptions | string = {}): C {
    const opts = typeof options === 'string' ? { name: options } : options;
    if (typeof target !== 'function') {
      throw new TypeError(`${this.name} registry: only classes and functions can be registered; got ${typeof target}`);
    }
    if (opts.force !== undefined && typeof opts.force !== 'boolean') {
      throw new TypeError(`${this.name} registry: force must be a boolean; got ${typeof opts.force}`);
    }
    const names = opts.name === undefined ? [target.name] : Array.isArray(opts.name) ? opts.name : [opts.name];
    for (const name of names) {
      if (typeof name !== 'string' || name === '') {
        throw new TypeError(`${this.name} registry: names must be non-empty strings; got ${JSON.stringify(name)}`);
      }
      const existing = this.table.get(name);
      if (existing && existing !== target && !opts.force) {
        throw new Error(`'${name}' is already registered in the ${this.name} registry; pass { force: true } to replace it`);
      }
    }
    for (const name of names) this.table.set(name, target);
    return target;
  }

  /** A class decorator that registers the class (MMCV `register_module()`). */
  decorator(options: RegisterOptions | string = {}): <C extends Buildable<T>>(target: C) => C {
    return (target) => this.register(target, options);
  }

  /** The entry for `key`, following scoped keys as MMCV does; undefined when missing. */
  get(key: string): Buildable<T> | undefined {
    const dot = key.indexOf('.');
    if (dot < 0) return this.table.get(key);
    const scope = key.slice(0, dot);
    const rest = key.slice(dot + 1);
    if (scope === this.scope) return this.table.get(rest) ?? this.get(rest);
    const child = this.children.get(scope);
    if (child) return child.get(rest);
    const root = this.root();
    return root === this ? undefined : root.get(key);
  }

  /** True when {@link Registry.get} finds `key`. */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Registered names, in registration order. */
  keys(): string[] {
    return [...this.table.keys()];
  }

  /**
   * Builds an object from `cfg` (MMCV `build_from_cfg`): `type` picks the entry (a name or the
   * class itself), the other keys are the arguments, `defaultArgs` fill in what `cfg` lacks.
   * Errors name the registry and, for unknown types, the nearest registered names; errors
   * thrown while constructing are re-thrown prefixed with the entry's name.
   */
  build(cfg: BuildConfig, defaultArgs?: Record<string, unknown>, context?: unknown): T {
    if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
      throw new TypeError(`${this.name} config must be an object with a 'type'; got ${cfg === null ? 'null' : Array.isArray(cfg) ? 'an array' : typeof cfg}`);
    }
    if (defaultArgs !== undefined && (defaultArgs === null || typeof defaultArgs !== 'object')) {
      throw new TypeError(`${this.name} registry: defaultArgs must be an object or undefined`);
    }
    const args: Record<string, unknown> = { ...cfg };
    for (const [k, v] of Object.entries(defaultArgs ?? {})) if (!(k in args)) args[k] = v;
    const type = args.type;
    delete args.type;
    if (type === undefined) {
      throw new Error(`${this.name} config needs a 'type' (in the config or the default arguments); known types: ${this.keys().join(', ')}`);
    }
    let target: Buildable<T> | undefined;
    if (typeof type === 'string') {
      target = this.get(type);
      if (!target) {
        const hints = nearestNames(type, this.allKeys());
        const hint = hints.length ? ` Did you mean ${hints.map((h) => `'${h}'`).join(', ')}?` : '';
        const question = this.unknownNameHint ? `: ${this.unknownNameHint}` : '.';
        throw new Error(`'${type}' is not in the ${this.name} registry${question}${hint} Registered: ${this.keys().join(', ') || '(none)'}`);
      }
    } else if (typeof type === 'function') {
      target = type as Buildable<T>;
    } else {
      throw new TypeError(`${this.name} config 'type' must be a name or a class; got ${typeof type}`);
    }
    try {
      return this.buildFunc(target, args, context);
    } catch (error) {
      // Config errors already say where they are; others get the entry's name, as MMCV does.
      if (error instanceof Error && !(error instanceof ConfigError)) {
        const prefix = `${target.name}: `;
        if (!error.message.startsWith(prefix)) error.message = prefix + error.message;
      }
      throw error;
    }
  }

  /** Local names plus scoped names of children, for hints. */
  private allKeys(): string[] {
    const out = this.keys();
    for (const [scope, child] of this.children) out.push(...child.allKeys().map((k) => `${scope}.${k}`));
    return out;
  }

  private root(): Registry<any> {
    let r: Registry<any> = this;
    while (r.parent) r = r.parent;
    return r;
  }
}
