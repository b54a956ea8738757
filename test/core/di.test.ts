import { expect } from 'chai';
import { inject, injectable, optional } from 'inversify';
import { TOKENS, buildInjected, hasInjection, hasOwnInjection } from '../../src/core/di.js';
import { ConfigError } from '../../src/core/errors.js';
import { Hook } from '../../src/core/hook.js';
import { HOOKS, RegisterHook } from '../../src/core/hooks-registry.js';
import { MemoryLogger, systemClock, type Clock, type Logger } from '../../src/core/services.js';
import { IterTimerHook } from '../../src/hooks/iter-timer-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { tempDir, tinyRunner } from '../helpers/tiny.js';

/** A clock that returns the given values in turn and records how often it was read. */
class ScriptedClock implements Clock {
  reads = 0;
  constructor(private readonly values: number[]) {}
  now(): number {
    const v = this.values[this.reads++];
    if (v === undefined) throw new Error(`ScriptedClock read ${this.reads} times, only ${this.values.length} values`);
    return v;
  }
}

interface ProbeOptions { every?: number; label?: string }

// Class names are prefixed: HOOKS is process-wide and shared with the other test files.
@RegisterHook()
@injectable()
class DiTestProbeHook extends Hook<BaseRunner> {
  constructor(
    @inject(TOKENS.HookOptions) @optional() readonly options: ProbeOptions = {},
    @inject(TOKENS.Clock) @optional() readonly clock: Clock = systemClock,
  ) {
    super();
  }
}

/** Inherits DiTestProbeHook's injection without decorators of its own. */
class DiTestProbeChild extends DiTestProbeHook {
  override afterRun(): void {}
}
HOOKS.register(DiTestProbeChild);

/** A subclass with its own constructor, still without decorators. */
class DiTestProbeGrandChild extends DiTestProbeChild {
  readonly doubled: number;
  constructor(options: ProbeOptions = {}, clock?: Clock) {
    super(options, clock);
    this.doubled = (options.every ?? 0) * 2;
  }
}
RegisterHook()(DiTestProbeGrandChild);

@RegisterHook()
@injectable()
class DiTestServicesHook extends Hook<BaseRunner> {
  constructor(
    @inject(TOKENS.Runner) readonly runner: BaseRunner,
    @inject(TOKENS.Logger) readonly logger: Logger,
    @inject(TOKENS.WorkDir) readonly workDir: string | null,
    @inject(TOKENS.HookOptions) readonly options: Record<string, unknown>,
  ) {
    super();
  }
}

/** Plain-JS style: no decorators, no inversify metadata. */
class DiTestPlainHook extends Hook {
  readonly args: unknown[];
  constructor(...args: unknown[]) {
    super();
    this.args = args;
  }
}
RegisterHook()(DiTestPlainHook);
class DiTestPlainHook2 extends DiTestPlainHook {}
HOOKS.register(DiTestPlainHook2);

/** Plain JS with a required constructor parameter (inversify's own reader rejects its arity). */
class DiTestRequiredArgHook extends Hook {
  constructor(readonly options: { size: number }) {
    super();
  }
}
HOOKS.register(DiTestRequiredArgHook);

/** Injection through a static list, no parameter decorators. */
class DiTestListHook extends Hook {
  static readonly inject = [TOKENS.Logger, TOKENS.HookOptions, TOKENS.ValDataLoader];
  constructor(readonly logger: Logger, readonly options: ProbeOptions, readonly valLoader: unknown = 'none') {
    super();
  }
}
HOOKS.register(DiTestListHook);

describe('dependency injection of hooks', () => {
  it('builds an injectable hook from config with its options and the runner\'s clock', () => {
    const clock = new ScriptedClock([]);
    const { runner } = tinyRunner({ clock });
    const hook = runner.registerHookFromConfig({ type: 'DiTestProbeHook', every: 3, label: 'x', priority: 'LOW', name: 'probe' }) as DiTestProbeHook;
    expect(hook).to.be.instanceOf(DiTestProbeHook);
    expect(hook.options).to.deep.equal({ every: 3, label: 'x' });
    expect(hook.clock).to.equal(clock);
    expect(hook.clock).to.equal(runner.clock);
    expect([hook.hookId, hook.priority]).to.deep.equal(['probe', 70]);
    expect(runner.hooks).to.deep.equal([hook]);
  });

  it('builds a fresh instance with its own options each time (no singleton reuse)', () => {
    const { runner } = tinyRunner();
    const a = runner.registerHookFromConfig({ type: 'DiTestProbeHook', every: 1 }) as DiTestProbeHook;
    const b = runner.registerHookFromConfig({ type: 'DiTestProbeHook', every: 2 }) as DiTestProbeHook;
    const other = tinyRunner().runner.registerHookFromConfig({ type: 'DiTestProbeHook', every: 5 }) as DiTestProbeHook;
    expect(a).to.not.equal(b);
    expect([a.options.every, b.options.every, other.options.every]).to.deep.equal([1, 2, 5]);
    expect([a.hookId, b.hookId]).to.deep.equal(['DiTestProbeHook', 'DiTestProbeHook#2']);
  });

  it('still works with plain new, falling back to the defaults', () => {
    const hook = new DiTestProbeHook();
    expect(hook.options).to.deep.equal({});
    expect(hook.clock).to.equal(systemClock);
    const clock = new ScriptedClock([]);
    expect(new DiTestProbeHook({ every: 4 }, clock).clock).to.equal(clock);
  });

  it('a rebound Clock reaches IterTimerHook, whose times come from it exactly', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 2, numSamples: 8, batchSize: 4 });
    // Read k returns 5k(k+1) ms: every interval differs, so a wrong read order shows.
    const fake = new ScriptedClock(Array.from({ length: 10 }, (_, i) => 5 * (i + 1) * (i + 2)));
    runner.container.rebind(TOKENS.Clock).toConstantValue(fake);
    runner.registerHookFromConfig({ type: 'IterTimerHook', priority: 'LOW' });
    await runner.run([train], [['train', 1]]);
    // Epoch 1: t=10; iter 0 data 30-10, time 60-10; iter 1 data 100-60, time 150-60.
    // Epoch 2: t=210; iter 2 data 280-210, time 360-210; iter 3 data 450-360, time 550-360.
    expect(runner.logBuffer.valHistory.get('dataTime')).to.deep.equal([0.02, 0.04, 0.07, 0.09]);
    expect(runner.logBuffer.valHistory.get('time')).to.deep.equal([0.05, 0.09, 0.15, 0.19]);
    expect(fake.reads).to.equal(10);
  });

  it('new IterTimerHook() uses the system clock; the clock can be passed directly too', async () => {
    const { runner, train } = tinyRunner({ maxEpochs: 1, numSamples: 8, batchSize: 4 });
    runner.registerHook(new IterTimerHook(), 'LOW');
    await runner.run([train], [['train', 1]]);
    const times = runner.logBuffer.valHistory.get('time')!;
    expect(times).to.have.length(2);
    for (const t of times) expect(t).to.be.a('number').that.is.at.least(0).and.below(60);

    const direct = tinyRunner({ maxEpochs: 1, numSamples: 4, batchSize: 4 });
    direct.runner.registerHook(new IterTimerHook({}, new ScriptedClock([1000, 1250, 2000])), 'LOW');
    await direct.runner.run([direct.train], [['train', 1]]);
    expect(direct.runner.logBuffer.valHistory.get('dataTime')).to.deep.equal([0.25]);
    expect(direct.runner.logBuffer.valHistory.get('time')).to.deep.equal([1]);
    expect(() => new IterTimerHook({ interval: 1 } as never)).to.throw(ConfigError, "IterTimerHook: unknown option 'interval'");
  });

  it('gives a subclass without decorators the services of its injectable base', () => {
    const clock = new ScriptedClock([]);
    const { runner } = tinyRunner({ clock });
    expect(hasOwnInjection(DiTestProbeChild)).to.equal(false);
    expect(hasInjection(DiTestProbeChild)).to.equal(true);
    const child = runner.registerHookFromConfig({ type: 'DiTestProbeChild', every: 6 }) as DiTestProbeChild;
    expect(child).to.be.instanceOf(DiTestProbeChild);
    expect(child.options).to.deep.equal({ every: 6 });
    expect(child.clock).to.equal(clock);
    const grandChild = runner.registerHookFromConfig({ type: 'DiTestProbeGrandChild', every: 7 }) as DiTestProbeGrandChild;
    expect(grandChild.options).to.deep.equal({ every: 7 });
    expect(grandChild.doubled).to.equal(14);
    expect(grandChild.clock).to.equal(clock);
  });

  it('buildInjected builds without a container by plain new', () => {
    const hook = buildInjected(DiTestProbeHook, { every: 2 });
    expect(hook.options).to.deep.equal({ every: 2 });
    expect(hook.clock).to.equal(systemClock);
  });

  it('builds plain-JS hook classes (RegisterHook()(Cls), HOOKS.register(Cls)) with new Cls(options)', () => {
    const { runner } = tinyRunner();
    expect(hasInjection(DiTestPlainHook)).to.equal(false);
    const a = runner.registerHookFromConfig({ type: 'DiTestPlainHook', size: 3, priority: 'HIGH' }) as DiTestPlainHook;
    const b = runner.registerHookFromConfig({ type: 'DiTestPlainHook2' }) as DiTestPlainHook2;
    expect(a).to.be.instanceOf(DiTestPlainHook);
    expect(a.args).to.deep.equal([{ size: 3 }]);
    expect(b).to.be.instanceOf(DiTestPlainHook2);
    expect(b.args).to.deep.equal([{}]);
    expect(runner.hooks.map((h) => `${h.hookId}@${h.priority}`)).to.deep.equal(['DiTestPlainHook@30', 'DiTestPlainHook2@50']);
  });

  it('builds a plain class whose constructor requires its options with new Cls(options)', () => {
    const hook = tinyRunner().runner.registerHookFromConfig({ type: 'DiTestRequiredArgHook', size: 2 }) as DiTestRequiredArgHook;
    expect(hook.options).to.deep.equal({ size: 2 });
    expect(hasInjection(DiTestRequiredArgHook)).to.equal(false);
  });

  it('a static inject list passes the listed services in order; an unbound one is undefined', () => {
    const { runner } = tinyRunner({ logger: new MemoryLogger() });
    const hook = runner.registerHookFromConfig({ type: 'DiTestListHook', every: 2 }) as DiTestListHook;
    expect([hook.logger, hook.options, hook.valLoader]).to.deep.equal([runner.logger, { every: 2 }, 'none']);
    expect([hasOwnInjection(DiTestListHook), hasInjection(DiTestListHook)]).to.deep.equal([true, true]);
    const direct = buildInjected(DiTestListHook, { every: 3 });
    expect([direct.logger, direct.options, direct.valLoader]).to.deep.equal([undefined, { every: 3 }, 'none']);
  });

  it('names the class when its @inject decorators cover only some constructor parameters', () => {
    class DiTestHalfInjected extends Hook {
      constructor(readonly options: ProbeOptions, readonly clock: Clock) {
        super();
      }
    }
    inject(TOKENS.Clock)(DiTestHalfInjected, undefined, 1);
    expect(() => tinyRunner().runner.registerHookFromConfig({ type: DiTestHalfInjected })).to.throw(ConfigError, /^DiTestHalfInjected: its constructor injection is incomplete \(Found unexpected missing metadata .*\); put @inject on every constructor parameter, or list the tokens in a static inject$/);
  });

  it('injects the runner, its logger and its work dir', () => {
    const { dir, cleanup } = tempDir();
    try {
      const { runner } = tinyRunner({ workDir: dir, logger: new MemoryLogger() });
      const hook = runner.registerHookFromConfig({ type: 'DiTestServicesHook', flag: true }) as DiTestServicesHook;
      expect(hook.runner).to.equal(runner);
      expect(hook.logger).to.equal(runner.logger);
      expect(hook.workDir).to.equal(runner.workDir);
      expect(hook.workDir).to.equal(dir);
      expect(hook.options).to.deep.equal({ flag: true });
      const noDir = tinyRunner().runner.registerHookFromConfig({ type: 'DiTestServicesHook' }) as DiTestServicesHook;
      expect(noDir.workDir).to.equal(null);
      expect(noDir.options).to.deep.equal({});
    } finally {
      cleanup();
    }
  });
});
