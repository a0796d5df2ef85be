// `npm run package:targets`: one .vsix per platform, each carrying only its platform's Dawn (the
// `webgpu` package's dawn.node, 12-22 MB; the package holds all five builds, ~132 MB), and the
// universal .vsix that `npm run package` makes, which carries none (there Install TensorFlow
// Backend offers WebGPU). VS Code installs the .vsix whose target matches the machine; vsce has
// no per-target ignore list, so each target gets a copy of .vscodeignore with its Dawn folder
// allowed (`vsce package --target <t> --ignoreFile <copy>`).
//
// Targets: vsce's, less those Dawn has no build for: alpine-x64/arm64 (Dawn's Linux builds link
// glibc 2.34 or later; Alpine has musl), linux-armhf, web. macOS takes the universal binary on
// both architectures. The trainer loads <package>/dist/<platform>-<arch>/dawn.node itself
// (darwin: darwin-universal) and never the package's index.js, so package.json, the licence and
// that one folder are all a target needs (on Windows the folder also holds Dawn's two DirectX
// shader compiler DLLs and their licences).
//
//   node scripts/package-targets.mjs [--targets linux-x64,universal,...] [--out-dir <folder>]
//
// Without --targets: every target and the universal .vsix. Files: was-lab-<target>.vsix, and
// was-lab.vsix for the universal one, in --out-dir (default: the repository root). Run
// `npm run build` first (`npm run package:targets` does).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VSCE = path.join(ROOT, 'node_modules/@vscode/vsce/vsce');
const DAWN = path.join(ROOT, 'node_modules/webgpu');

/** vsce target -> the folder under node_modules/webgpu/dist that holds its dawn.node. */
const DAWN_FOLDERS = {
  'linux-x64': 'linux-x64',
  'linux-arm64': 'linux-arm64',
  'darwin-x64': 'darwin-universal',
  'darwin-arm64': 'darwin-universal',
  'win32-x64': 'win32-x64',
  'win32-arm64': 'win32-arm64',
};
const UNIVERSAL = 'universal';

function parseArgs(argv) {
  const options = { targets: [...Object.keys(DAWN_FOLDERS), UNIVERSAL], outDir: ROOT };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--targets' && value) options.targets = value.split(',').filter((t) => t !== '');
    else if (argv[i] === '--out-dir' && value) options.outDir = path.resolve(value);
    else throw new Error(`unknown argument ${argv[i]} (usage: --targets <t,...> --out-dir <folder>)`);
    i++;
  }
  for (const target of options.targets)
    if (target !== UNIVERSAL && !(target in DAWN_FOLDERS)) throw new Error(`no Dawn build for target ${target}; targets: ${Object.keys(DAWN_FOLDERS).join(', ')}, ${UNIVERSAL}`);
  return options;
}

/** .vscodeignore with one platform's Dawn allowed, written to `file`. */
function writeIgnoreFile(target, file) {
  const folder = DAWN_FOLDERS[target];
  if (!fs.existsSync(path.join(DAWN, 'dist', folder, 'dawn.node')))
    throw new Error(`node_modules/webgpu/dist/${folder}/dawn.node is missing: run npm ci (webgpu is an optional dependency, and its install may have been skipped)`);
  const allowed = ['package.json', 'LICENSE.md', `dist/${folder}/**`].map((f) => `!node_modules/webgpu/${f}`);
  const base = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
  fs.writeFileSync(file, `${base.trimEnd()}\n# ${target}: Dawn's ${folder} build (scripts/package-targets.mjs)\n${allowed.join('\n')}\n`);
}

function packageTarget(target, outDir, scratch) {
  const out = path.join(outDir, target === UNIVERSAL ? 'was-lab.vsix' : `was-lab-${target}.vsix`);
  const args = [VSCE, 'package', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out];
  if (target !== UNIVERSAL) {
    const ignoreFile = path.join(scratch, `${target}.vscodeignore`);
    writeIgnoreFile(target, ignoreFile);
    args.push('--target', target, '--ignoreFile', ignoreFile);
  }
  const started = performance.now();
  const printed = execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  // vsce prints the file tree, then "DONE  Packaged: <file> (<n> files, <size>)".
  const done = printed.split('\n').findLast((line) => line.includes('Packaged:')) ?? '';
  const files = /\((\d+) files/.exec(done)?.[1] ?? '?';
  const megabytes = (fs.statSync(out).size / 1e6).toFixed(1);
  const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
  console.log(`${target.padEnd(12)} ${megabytes.padStart(5)} MB  ${files} files  ${shown}  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

const { targets, outDir } = parseArgs(process.argv.slice(2));
fs.mkdirSync(outDir, { recursive: true });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'was-vsix-targets-'));
try {
  for (const target of targets) packageTarget(target, outDir, scratch);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}
