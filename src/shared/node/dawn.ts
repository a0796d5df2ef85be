// Dawn, the WebGPU implementation the webgpu backend runs on, as the npm package `webgpu`: its
// version, and where its prebuilt binary sits for a platform. Read by the trainer (loading it),
// the extension (installing it, finding it in a platform .vsix) and scripts/package-targets.mjs
// (which keeps its own copy of the folder rule: it is plain JavaScript).

export const DAWN_PACKAGE = 'webgpu';
export const DAWN_VERSION = '0.6.2';

/** The folder under the package's dist/ holding `dawn.node`: one universal build for macOS, `<platform>-<arch>` elsewhere. */
export function dawnFolder(platform: string = process.platform, arch: string = process.arch): string {
  return platform === 'darwin' ? 'darwin-universal' : `${platform}-${arch}`;
}
