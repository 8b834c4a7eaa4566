// @ts-check
// ESLint rule: folders depend one way (DESIGN.md §2). Resolves every relative import to the top-level folder it
// lands in and refuses the ones the importing folder may not depend on, so no cycle between folders can form.
// Covers every file of a folder (machines/catalog.ts as well as machines/cluster/*), static and dynamic imports,
// and re-exports.
import { dirname, relative, resolve, sep } from 'node:path';

/** Folder → the folders it may import from (itself included). */
export const ALLOWED = {
  crds: ['crds'],
  machines: ['machines', 'crds'],
  actors: ['actors', 'machines', 'crds'],
  adapters: ['adapters', 'actors', 'machines', 'crds'],
  instance: ['instance', 'adapters', 'machines', 'crds'],
  router: ['router', 'adapters', 'machines', 'crds'],
  bin: ['bin', 'actors', 'adapters', 'instance', 'router', 'machines', 'crds'],
};

const topFolder = (root, file) => relative(root, file).split(sep)[0] ?? '';

/** @type {import('eslint').Rule.RuleModule} */
export const folderDirection = {
  meta: {
    type: 'problem',
    docs: { description: 'folders depend one way: bin → actors, adapters, instance, router → machines → crds' },
    schema: [],
    messages: {
      wrongWay: '{{from}}/ may not import {{to}}/ (allowed: {{allowed}}). Folders depend one way: bin → actors, adapters, instance, router → machines → crds; move the shared piece down (a port in actors/ports, a pure helper in machines/shared) instead.',
    },
  },
  create(context) {
    const root = context.cwd;
    const file = context.filename;
    const from = topFolder(root, file);
    const allowed = ALLOWED[/** @type {keyof typeof ALLOWED} */ (from)];
    if (!allowed) return {};
    // Tests beside code may use the shared fixtures and helpers under tests/.
    const mayUse = file.endsWith('.test.ts') ? [...allowed, 'tests'] : allowed;
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = topFolder(root, resolve(dirname(file), source));
      if (!(to in ALLOWED) && to !== 'tests') return;
      if (!mayUse.includes(to)) context.report({ node, messageId: 'wrongWay', data: { from, to, allowed: allowed.join(', ') } });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source.value),
      ExportNamedDeclaration: (n) => n.source && check(n, n.source.value),
      ExportAllDeclaration: (n) => check(n, n.source.value),
      ImportExpression: (n) => n.source.type === 'Literal' && check(n, n.source.value),
    };
  },
};

export default { rules: { 'folder-direction': folderDirection } };
