/** `gpu-orchestrate doctor`: the environment a run would use, in plain words. */
import type { DeviceDiscovery } from './devices/devices.js';
import type { DoctorReport } from './workers/python.js';

export function formatDoctor(report: DoctorReport, discovery: DeviceDiscovery): string {
  const lines = [`python:      ${report.python} (Python ${report.version})`];
  for (const [name, status] of Object.entries(report.packages)) {
    lines.push(`${name.padEnd(12)} ${status.ok ? `ok, ${status.version}` : `MISSING: run ${report.python} -m pip install ${name}`}`);
  }
  const torch = report.torch;
  if (torch && 'error' in torch) lines.push(`torch import failed: ${torch.error}`);
  else if (torch) {
    lines.push(`torch:       ${torch.version}, CUDA build ${torch.cuda_build ?? 'none (CPU-only build)'}, CUDA available: ${torch.cuda_available ? 'yes' : 'no'}`);
    for (const gpu of torch.gpus) lines.push(`  cuda:${gpu.index}  ${gpu.name}, ${(gpu.memory_bytes / 2 ** 30).toFixed(1)} GiB`);
    lines.push(`cpu threads: ${torch.cpu_threads}`);
  }
  const gpus = discovery.listGpus();
  lines.push(`CUDA_VISIBLE_DEVICES: ${discovery.cudaVisibleDevices === undefined ? '(unset)' : JSON.stringify(discovery.cudaVisibleDevices)}`);
  lines.push(`nvidia-smi:  ${gpus === undefined ? 'not available' : `${gpus.length} GPU(s): ${gpus.join(', ')}`}`);
  lines.push(verdict(report));
  return `${lines.join('\n')}\n`;
}

function missingPackages(report: DoctorReport): string[] {
  return Object.entries(report.packages).filter(([, status]) => !status.ok).map(([name]) => name);
}

/** Can a run start with this interpreter? (`doctor` exits 3 when it cannot, as a run would.) */
export function doctorReady(report: DoctorReport): boolean {
  return missingPackages(report).length === 0 && report.torch !== null && !('error' in report.torch);
}

function verdict(report: DoctorReport): string {
  const missing = missingPackages(report);
  if (missing.length > 0) return `not ready: install ${missing.join(', ')} (${report.python} -m pip install ${missing.join(' ')})`;
  const torch = report.torch;
  if (torch === null || 'error' in torch) return `not ready: torch is installed but cannot be imported; reinstall it (${report.python} -m pip install --force-reinstall torch)`;
  return torch.cuda_available ? 'ready' : 'ready for CPU devices (--gpus cpu:N); no GPU is usable from this torch';
}
