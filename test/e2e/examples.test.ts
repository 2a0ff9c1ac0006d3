/** The issue-5 examples, end to end at tiny sizes on cpu:2: results equal a direct call of the same code. */
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { pythonEnv } from '../../src/workers/python.js';
import { PYTHON, ROOT, readOutput, runCli, scratchDir, survivors } from '../helpers/cli.js';

const EXAMPLES = path.join(ROOT, 'examples');

async function python(code: string, args: string[]): Promise<string> {
  const result = await execa(PYTHON, ['-c', code, ...args], { env: pythonEnv(), reject: false });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return result.stdout.trim();
}

describe('examples/match_pairs.py over a synthetic feature store', () => {
  it('matches every pair, mostly rightly, exactly as the matcher does when called directly', async () => {
    const dir = scratchDir();
    const store = path.join(dir, 'store');
    await execa(PYTHON, [path.join(EXAMPLES, 'make_feature_store.py'), store, '--images', '16', '--keypoints', '64', '--dim', '32', '--pairs', '40']);
    const output = path.join(dir, 'matches.jsonl');
    const result = await runCli(['--script', path.join(EXAMPLES, 'match_pairs.py'), '--inputs', path.join(store, 'pairs.jsonl'), '--output', output, '--gpus', 'cpu:2', '--workers-per-gpu', '2', '--batch-size', '4', '--opt', `store=${store}`]);
    expect(result.stderr).not.toMatch(/warning|error/i);
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(40);
    expect(lines[0]?.result).toMatchObject({ matches: { __ndarray__: { dtype: 'int32', file: 'matches.arrays' } }, scores: { __ndarray__: { dtype: 'float32' } } });
    // Read the output back and check it against the store's ground truth and a direct call.
    const check = `
import importlib.util, sys, numpy as np, torch
from gpu_orchestrate_worker import read_output
spec = importlib.util.spec_from_file_location("match_pairs", sys.argv[1]); mp = importlib.util.module_from_spec(spec); spec.loader.exec_module(mp)
store, output = sys.argv[2], sys.argv[3]
class Ctx: device = torch.device("cpu"); options = {}; shared = mp.load_shared({"store": store})
model = mp.setup(Ctx())
points, offsets = np.load(store + "/point_ids.npy"), np.load(store + "/offsets.npy")
right = total = 0
for line in read_output(output):
    assert line["ok"], line
    pair, result = line["input"], line["result"]
    want = mp.infer(model, [pair])[0]
    np.testing.assert_array_equal(result["matches"], want["matches"].numpy())
    np.testing.assert_allclose(result["scores"], want["scores"].numpy(), rtol=1e-6)
    assert result["count"] == len(result["matches"]) > 0, pair
    for i, j in result["matches"]:
        total += 1
        right += points[offsets[pair["a"]] + i] == points[offsets[pair["b"]] + j]
print(total, right)
`;
    const [total, right] = (await python(check, [path.join(EXAMPLES, 'match_pairs.py'), store, output])).split(' ').map(Number);
    expect(total).toBeGreaterThan(40 * 5);
    expect((right as number) / (total as number)).toBeGreaterThan(0.9);
    expect(survivors(result.marker)).toEqual([]);
  });
});

describe('examples/sam_embed.py', () => {
  it('embeds images with the SAM encoder (tiny, weights from a SAM-style checkpoint), losslessly', async () => {
    const dir = scratchDir();
    const images = path.join(dir, 'images');
    await execa(PYTHON, [path.join(EXAMPLES, 'make_demo_images.py'), images, '--count', '6']);
    const checkpoint = path.join(dir, 'sam_tiny.pth');
    // A whole-SAM-style checkpoint: the encoder's weights under image_encoder., beside others.
    await python(
      `
import sys, torch
sys.path.insert(0, sys.argv[1])
from sam_encoder import SHAPES, ImageEncoderViT
torch.manual_seed(7)
encoder = ImageEncoderViT(SHAPES["tiny"])
for parameter in encoder.parameters():
    torch.nn.init.normal_(parameter, std=0.05)
state = {"image_encoder." + key: value for key, value in encoder.state_dict().items()}
state["mask_decoder.some.weight"] = torch.zeros(3)
torch.save(state, sys.argv[2])
`,
      [EXAMPLES, checkpoint],
    );
    const output = path.join(dir, 'sam.jsonl');
    const result = await runCli(['--script', path.join(EXAMPLES, 'sam_embed.py'), '--inputs', images, '--output', output, '--gpus', 'cpu:2', '--batch-size', '2', '--opt', 'model=tiny', '--opt', `checkpoint=${checkpoint}`]);
    expect(result.stderr).not.toMatch(/warning|error/i);
    expect(result.exitCode).toBe(0);
    const lines = readOutput(output);
    expect(lines).toHaveLength(6);
    expect(lines[0]?.result).toMatchObject({ embedding: { __ndarray__: { dtype: 'float32', shape: [256, 8, 8] } } });
    const check = `
import importlib.util, sys, numpy as np, torch
from gpu_orchestrate_worker import read_output
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("sam_embed", sys.argv[1] + "/sam_embed.py"); se = importlib.util.module_from_spec(spec)
sys.modules["sam_embed"] = se  # its dataclass looks itself up there
spec.loader.exec_module(se)
class Ctx: device = torch.device("cpu"); options = {"model": "tiny", "checkpoint": sys.argv[2]}
model = se.setup(Ctx())
random = se.setup(type("RandomCtx", (), {"device": torch.device("cpu"), "options": {"model": "tiny"}})())
lines = list(read_output(sys.argv[3]))
for line in lines:
    want = se.infer(model, [line["input"]])[0]
    # Equal up to float rounding: batches of 2 and other thread counts sum in another order.
    np.testing.assert_allclose(line["result"]["embedding"], want["embedding"].numpy(), rtol=1e-4, atol=1e-5)
    assert line["result"]["original_size"] == want["original_size"] and line["result"]["input_size"] == want["input_size"]
    other = se.infer(random, [line["input"]])[0]["embedding"].numpy()
    assert not np.allclose(line["result"]["embedding"], other), "the checkpoint's weights were not used"
print(len(lines), "checked")
`;
    expect(await python(check, [EXAMPLES, checkpoint, output])).toBe('6 checked');
    expect(survivors(result.marker)).toEqual([]);
  });
});
