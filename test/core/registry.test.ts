import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { Registry } from '../../src/core/registry.js';

/** Runs `fn`, returns what it threw. */
function thrown(fn: () => unknown): Error {
  try { fn(); } catch (e) { return e as Error; }
  throw new Error('expected an error');
}

describe('Registry', () => {
  describe('scopes (MMCV test_multi_scope_registry)', () => {
    class GoldenRetriever {}
    class BloodHound {}
    class Dachshund {}
    class Beagle {}
    const DOGS = new Registry('dogs', { scope: 'dogs' });
    DOGS.register(GoldenRetriever);
    const HOUNDS = new Registry('dogs', { parent: DOGS, scope: 'hound' });
    HOUNDS.register(BloodHound);
    const LITTLE_HOUNDS = new Registry('dogs', { parent: HOUNDS, scope: 'little_hound' });
    LITTLE_HOUNDS.register(Dachshund);
    const MID_HOUNDS = new Registry('dogs', { parent: HOUNDS, scope: 'mid_hound' });
    MID_HOUNDS.register(Beagle);

    it('links children to their parents by scope', () => {
      expect([...DOGS.children.keys()]).to.deep.equal(['hound']);
      expect([...HOUNDS.children.keys()]).to.deep.equal(['little_hound', 'mid_hound']);
      expect(LITTLE_HOUNDS.parent).to.equal(HOUNDS);
      expect([DOGS.size, HOUNDS.size, LITTLE_HOUNDS.size]).to.deep.equal([1, 1, 1]);
    });

    it('finds scoped keys down the tree', () => {
      expect(DOGS.get('GoldenRetriever')).to.equal(GoldenRetriever);
      expect(DOGS.get('hound.BloodHound')).to.equal(BloodHound);
      expect(DOGS.get('hound.little_hound.Dachshund')).to.equal(Dachshund);
      expect(HOUNDS.get('hound.BloodHound')).to.equal(BloodHound);
      expect(HOUNDS.get('little_hound.Dachshund')).to.equal(Dachshund);
      expect(HOUNDS.get('mid_hound.Beagle')).to.equal(Beagle);
    });

    it('goes through the root for scopes it does not own', () => {
      expect(LITTLE_HOUNDS.get('hound.BloodHound')).to.equal(BloodHound);
      expect(LITTLE_HOUNDS.get('hound.mid_hound.Beagle')).to.equal(Beagle);
      expect(MID_HOUNDS.get('hound.little_hound.Dachshund')).to.equal(Dachshund);
      expect(MID_HOUNDS.get('hound.Dachshund')).to.equal(undefined);
      expect(DOGS.get('cats.Siamese')).to.equal(undefined);
    });

    it('never looks up unscoped names in parents or children', () => {
      expect(LITTLE_HOUNDS.get('BloodHound')).to.equal(undefined);
      expect(HOUNDS.get('GoldenRetriever')).to.equal(undefined);
      expect(DOGS.get('BloodHound')).to.equal(undefined);
      expect(DOGS.has('BloodHound')).to.equal(false);
      expect(DOGS.has('hound.BloodHound')).to.equal(true);
    });

    it('refuses a second child with the same scope', () => {
      expect(() => new Registry('other dogs', { parent: HOUNDS, scope: 'little_hound' }))
        .to.throw(Error).with.property('message', "registry 'dogs' already has a child with scope 'little_hound'");
      expect([...HOUNDS.children.values()]).to.deep.equal([LITTLE_HOUNDS, MID_HOUNDS]);
    });

    it('inherits the parent\'s build function', () => {
      const built: string[] = [];
      const root = new Registry<object>('root', { buildFunc: (target, args) => { built.push(target.name); return { made: target.name, args }; } });
      const child = new Registry<object>('child', { parent: root, scope: 'c' });
      class Thing {}
      child.register(Thing);
      expect(child.build({ type: 'Thing', a: 1 })).to.deep.equal({ made: 'Thing', args: { a: 1 } });
      expect(root.build({ type: 'c.Thing' })).to.deep.equal({ made: 'Thing', args: {} });
      expect(built).to.deep.equal(['Thing', 'Thing']);
    });
  });

  describe('register', () => {
    it('registers under the class name by default and returns the class', () => {
      const reg = new Registry('animal');
      class Cat {}
      expect(reg.register(Cat)).to.equal(Cat);
      expect(reg.get('Cat')).to.equal(Cat);
      expect(reg.keys()).to.deep.equal(['Cat']);
    });

    it('registers under one or several given names', () => {
      const reg = new Registry('animal');
      class Cat {}
      class Dog {}
      reg.register(Cat, 'Kitty');
      reg.register(Dog, { name: ['Dog', 'Hound', 'Mutt'] });
      expect(reg.keys()).to.deep.equal(['Kitty', 'Dog', 'Hound', 'Mutt']);
      expect(reg.get('Cat')).to.equal(undefined);
      expect(['Dog', 'Hound', 'Mutt'].map((n) => reg.get(n))).to.deep.equal([Dog, Dog, Dog]);
      expect(reg.size).to.equal(4);
    });

    it('works as a class decorator', () => {
      const reg = new Registry('animal');
      @reg.decorator()
      class Cat {}
      @reg.decorator({ name: 'Wolfie' })
      class Wolf {}
      expect(reg.get('Cat')).to.equal(Cat);
      expect(reg.get('Wolfie')).to.equal(Wolf);
    });

    it('refuses a taken name unless forced, and registers nothing then', () => {
      const reg = new Registry('animal');
      class Cat {}
      class OtherCat {}
      reg.register(Cat);
      const error = thrown(() => reg.register(OtherCat, { name: ['Tiger', 'Cat'] }));
      expect(error.message).to.equal("'Cat' is already registered in the animal registry; pass { force: true } to replace it");
      expect(reg.keys()).to.deep.equal(['Cat']);
      reg.register(OtherCat, { name: 'Cat', force: true });
      expect(reg.get('Cat')).to.equal(OtherCat);
      expect(reg.keys()).to.deep.equal(['Cat']);
    });

    it('accepts registering the same class under the same name again', () => {
      const reg = new Registry('animal');
      class Cat {}
      reg.register(Cat);
      reg.register(Cat);
      expect(reg.keys()).to.deep.equal(['Cat']);
    });

    it('validates what is registered, its names and force', () => {
      const reg = new Registry('animal');
      class Cat {}
      expect(() => reg.register({} as never)).to.throw(TypeError).with.property('message', 'animal registry: only classes and functions can be registered; got object');
      expect(() => reg.register(Cat, { name: '' })).to.throw(TypeError).with.property('message', 'animal registry: names must be non-empty strings; got ""');
      expect(() => reg.register(Cat, { name: [3 as never] })).to.throw(TypeError).with.property('message', 'animal registry: names must be non-empty strings; got 3');
      expect(() => reg.register(Cat, { force: 'yes' as never })).to.throw(TypeError).with.property('message', 'animal registry: force must be a boolean; got string');
      expect(reg.size).to.equal(0);
    });
  });

  describe('build', () => {
    class Point {
      constructor(readonly args: { x?: number; y?: number; label?: string }) {}
    }
    class Fails {
      constructor() { throw new RangeError('radius must be positive'); }
    }
    const makeRegistry = () => {
      const reg = new Registry<object>('shape');
      reg.register(Point);
      reg.register(Fails);
      return reg;
    };

    it('builds by name with the other keys as the options object', () => {
      const p = makeRegistry().build({ type: 'Point', x: 1, y: 2 }) as Point;
      expect(p).to.be.instanceOf(Point);
      expect(p.args).to.deep.equal({ x: 1, y: 2 });
    });

    it('fills in default arguments; the config wins', () => {
      const p = makeRegistry().build({ type: 'Point', x: 1 }, { x: 9, y: 8, label: 'd' }) as Point;
      expect(p.args).to.deep.equal({ x: 1, y: 8, label: 'd' });
    });

    it('takes the type from the default arguments too', () => {
      const p = makeRegistry().build({ x: 1 }, { type: 'Point' }) as Point;
      expect(p).to.be.instanceOf(Point);
      expect(p.args).to.deep.equal({ x: 1 });
    });

    it('does not mutate the config', () => {
      const cfg = { type: 'Point', x: 1 };
      makeRegistry().build(cfg, { y: 2 });
      expect(cfg).to.deep.equal({ type: 'Point', x: 1 });
    });

    it('accepts the class itself as type, registered or not', () => {
      class Unregistered {
        constructor(readonly args: unknown) {}
      }
      const u = makeRegistry().build({ type: Unregistered, z: 3 }) as Unregistered;
      expect(u).to.be.instanceOf(Unregistered);
      expect(u.args).to.deep.equal({ z: 3 });
    });

    it('calls plain functions as factories', () => {
      const reg = new Registry<{ area: number }>('shape');
      function square(args: { side: number }) { return { area: args.side * args.side }; }
      const arrow = (args: { w: number; h: number }) => ({ area: args.w * args.h });
      reg.register(square);
      reg.register(arrow, 'rect');
      expect(reg.build({ type: 'square', side: 3 })).to.deep.equal({ area: 9 });
      expect(reg.build({ type: 'rect', w: 2, h: 5 })).to.deep.equal({ area: 10 });
    });

    it('explains a missing type, listing the known types', () => {
      expect(thrown(() => makeRegistry().build({ x: 1 })).message)
        .to.equal("shape config needs a 'type' (in the config or the default arguments); known types: Point, Fails");
    });

    it('names the nearest registered names and the registered list for an unknown type', () => {
      const reg = makeRegistry();
      reg.register(class Polygon {});
      expect(thrown(() => reg.build({ type: 'Pointt' })).message)
        .to.equal("'Pointt' is not in the shape registry. Did you mean 'Point'? Registered: Point, Fails, Polygon");
      expect(thrown(() => reg.build({ type: 'Hexagon' })).message)
        .to.equal("'Hexagon' is not in the shape registry. Registered: Point, Fails, Polygon");
      expect(thrown(() => new Registry('empty').build({ type: 'X' })).message)
        .to.equal("'X' is not in the empty registry. Registered: (none)");
    });

    it('suggests scoped names of children', () => {
      const reg = makeRegistry();
      const child = new Registry<object>('shape', { parent: reg, scope: 'extra' });
      child.register(class Circle {});
      expect(thrown(() => reg.build({ type: 'Circle' })).message)
        .to.equal("'Circle' is not in the shape registry. Did you mean 'extra.Circle'? Registered: Point, Fails");
    });

    it('re-throws constructor errors with the same type, prefixed with the class name', () => {
      const error = thrown(() => makeRegistry().build({ type: 'Fails' }));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal('Fails: radius must be positive');
    });

    it('leaves ConfigErrors as they are (they already say where they are)', () => {
      const reg = new Registry<object>('shape');
      reg.register(class Strict { constructor() { throw new ConfigError('Strict.size', 'must be positive'); } });
      const error = thrown(() => reg.build({ type: 'Strict' }));
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.equal('Strict.size: must be positive');
    });

    it('rejects configs that are not objects and types that are neither names nor classes', () => {
      const reg = makeRegistry();
      expect(() => reg.build(null as never)).to.throw(TypeError).with.property('message', "shape config must be an object with a 'type'; got null");
      expect(() => reg.build([] as never)).to.throw(TypeError).with.property('message', "shape config must be an object with a 'type'; got an array");
      expect(() => reg.build('Point' as never)).to.throw(TypeError).with.property('message', "shape config must be an object with a 'type'; got string");
      expect(() => reg.build({ type: 3 as never })).to.throw(TypeError).with.property('message', "shape config 'type' must be a name or a class; got number");
      expect(() => reg.build({ type: 'Point' }, 5 as never)).to.throw(TypeError).with.property('message', 'shape registry: defaultArgs must be an object or undefined');
    });
  });
});
