#!/usr/bin/env python3
"""Run every `imgcls-tricks` command of README.md's main-job block as a new user would: each in a fresh empty folder,
placeholders (`path/to/images`, `labels.csv`) replaced by datasets generated there, nothing downloaded
(`--pretrained` finds stand-in weights in a private torch cache). `--epochs 1` is added to all but the first (the
bare `imgcls-tricks train`, run in full by .ci/run). Exits 1 if a command fails or leaves its three files unwritten."""
import os, re, shlex, subprocess, sys, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
block = re.search(r'## The main job\n+```sh\n(.*?)```', (root/'README.md').read_text(), re.S).group(1)
cmds = [shlex.split(l.split('#')[0]) for l in block.splitlines() if l.startswith('imgcls-tricks ')]
assert cmds and cmds[0] == ['imgcls-tricks', 'train'], cmds

from imgcls_tricks.test_utils import write_folder, write_csv
failed = []
for cmd in cmds[1:]:
    work = Path(tempfile.mkdtemp()); env = dict(os.environ)
    if 'path/to/images' in cmd: write_folder(work/'path'/'to'/'images', ['cat', 'dog', 'zebra'], n=24)
    if 'labels.csv' in cmd: write_csv(work, ['1', '7', '8'], n=24)
    if '--pretrained' in cmd:   # stand-in ImageNet weights where torchvision looks for them: nothing downloads
        import torch, torchvision.models as tvm
        from imgcls_tricks.learner import _weights, _cached_file
        env['TORCH_HOME'] = os.environ['TORCH_HOME'] = str(work/'torch')
        f = _cached_file(_weights(cmd[cmd.index('--arch') + 1])); f.parent.mkdir(parents=True)
        torch.save(tvm.get_model(cmd[cmd.index('--arch') + 1]).state_dict(), f); del os.environ['TORCH_HOME']
    full = cmd + ['--epochs', '1', '--quiet']
    r = subprocess.run(full, cwd=work, env=env, capture_output=True, text=True)
    files = [f for f in ('model.pkl', 'metrics.json', 'report.html') if not (work/'imgcls_run'/f).is_file()]
    print(f"{'ok ' if r.returncode == 0 and not files else 'FAIL'} {shlex.join(full)}: {r.stdout.strip()[-160:]}")
    if r.returncode or files: failed.append((shlex.join(full), r.returncode, files, r.stderr[-800:]))
for f in failed: print('FAILED:', *f, sep='\n  ')
print(f"README commands: {len(cmds) - 1 - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
