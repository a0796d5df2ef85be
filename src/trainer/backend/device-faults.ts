// Faults of a GPU device that TensorFlow.js does not raise itself. On WebGPU a lost device
// (driver reset, GPU removed, the OS reclaiming it) resolves `device.lost`, and an out-of-memory
// or validation error is dispatched as an `uncapturederror` event: the op that caused it returns
// garbage silently (measured: a buffer over the device's limit summed to a wrong number). So the
// first fault is kept here, and the training and evaluation loops call throwIfDeviceFault after
// each readback, ending the run with the reason; it resumes from its last checkpoint.

/** The first fault of the watched device, or null. */
let fault: string | null = null;

/** A GPU fault: the run cannot go on with this device (the message says why and what to do). */
export class DeviceFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceFaultError';
  }
}

interface WatchedDevice {
  lost: Promise<{ reason?: string; message?: string }>;
  addEventListener(type: 'uncapturederror', listener: (event: { error: { constructor: { name: string }; message: string } }) => void): void;
}

/** Starts watching a WebGPU device (once per device). */
export function watchGpuDevice(device: unknown): void {
  const watched = device as WatchedDevice;
  void watched.lost.then((info) => {
    fault ??= `the GPU device was lost (${info.reason ?? 'unknown'}${info.message ? `: ${firstLine(info.message)}` : ''})`;
  });
  watched.addEventListener('uncapturederror', (event) => {
    fault ??= describeGpuError(event.error.constructor.name, event.error.message);
  });
}

/** GPUOutOfMemoryError, GPUValidationError, GPUInternalError, each with what to try. */
export function describeGpuError(kind: string, message: string): string {
  const detail = firstLine(message);
  if (kind === 'GPUOutOfMemoryError') return `the GPU ran out of memory (${detail}): try a smaller batch size or model`;
  if (kind === 'GPUValidationError') return `the GPU refused an operation (${detail}); a tensor may exceed the device's buffer limits: try a smaller batch size`;
  return `the GPU reported an error (${kind}: ${detail})`;
}

/** Throws the device's first fault, if any; call it after a readback, when errors have arrived. */
export function throwIfDeviceFault(): void {
  if (fault !== null) throw faultError(fault);
}

/**
 * The device's fault in place of a failed read's own error (tfjs rejects a read on a lost device
 * with an empty message, before `device.lost` has settled: it gets one turn of the event loop).
 */
export async function deviceFaultOr(error: unknown): Promise<unknown> {
  await new Promise((resolve) => setImmediate(resolve));
  return fault !== null ? faultError(fault) : error;
}

function faultError(reason: string): DeviceFaultError {
  return new DeviceFaultError(`${reason}. The run ends here; \`was-train resume\` continues it from its last checkpoint.`);
}

/** Tests only: forget a fault, so that one process can watch another device afterwards. */
export function clearDeviceFault(): void {
  fault = null;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
