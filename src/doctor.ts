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
  const missing = Object.entries(report.packages).filter(([, status]) => !status.ok).map(([name]) => name);
  lines.push(missing.length > 0 ? `not ready: install ${missing.join(', ')}` : torch && 'cuda_available' in torch && !torch.cuda_available ? 'ready for CPU devices (--gpus cpu:N); no GPU is usable from this torch' : 'ready');
  return `${lines.join('\n')}\n`;
}
