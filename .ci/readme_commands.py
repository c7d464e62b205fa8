#!/usr/bin/env python3
"""Run every `imgcls-tricks` command of README.md's main-job block as a new user would: each in a fresh empty folder,
placeholders (`path/to/images`, `path/to/new_images`, `labels.csv`) replaced by datasets generated there, nothing
downloaded (`--pretrained` finds stand-in weights in a private torch cache); `predict` and `report` get a model trained
there first, `clean --apply` a review sheet with one decision filled in. Kept short: `--epochs 1` for `train` unless the
command gives its own (the bare `imgcls-tricks train` is run in full by .ci/run), `--runs 1` for `find-lr`. Exits 1 if
a command fails or leaves its files unwritten; the dry run of `clean --apply` fails if it changed the dataset."""
import hashlib, os, re, shlex, subprocess, sys, tempfile
from pathlib import Path
import pandas as pd

root = Path(__file__).resolve().parent.parent
block = re.search(r'## The main job\n+```sh\n(.*?)```', (root/'README.md').read_text(), re.S).group(1)
cmds = [shlex.split(l.split(' #')[0]) for l in block.splitlines() if l.startswith('imgcls-tricks ')]
assert cmds and cmds[0] == ['imgcls-tricks', 'train'], cmds

from imgcls_tricks.test_utils import write_folder, write_csv
def tree_hash(root):
    h = hashlib.sha256()
    for f in sorted(p for p in Path(root).rglob('*') if p.is_file()): h.update(str(f.relative_to(root)).encode() + f.read_bytes())
    return h.hexdigest()

failed = []
for cmd in cmds[1:]:
    work = Path(tempfile.mkdtemp()); env = dict(os.environ)
    if 'path/to/images' in cmd or cmd[1] in ('predict', 'report'): write_folder(work/'path'/'to'/'images', ['cat', 'dog', 'zebra'], n=24)
    if 'path/to/new_images' in cmd: write_folder(work/'path'/'to'/'new_images', ['a', 'b'], n=3, seed=1)
    if cmd[1] in ('predict', 'report'):
        subprocess.run(['imgcls-tricks', 'train', 'path/to/images', '--epochs', '1', '--quiet'], cwd=work, check=True)
        if cmd[1] == 'report': (work/'imgcls_run'/'report.html').unlink()   # so that the command must write it again
    if cmd[1] == 'clean' and '--apply' in cmd:   # a review sheet, with the first candidate marked for deletion
        subprocess.run(['imgcls-tricks', 'clean', 'path/to/images', '--quiet'], cwd=work, check=True)
        dec = pd.read_csv(work/'clean'/'decisions.csv', dtype=str, keep_default_na=False)
        dec.loc[:0, 'action'] = 'delete'; dec.to_csv(work/'clean'/'decisions.csv', index=False)
    before = tree_hash(work/'path') if (work/'path').exists() else None
    if 'labels.csv' in cmd: write_csv(work, ['1', '7', '8'], n=24)
    if '--pretrained' in cmd:   # stand-in ImageNet weights where torchvision looks for them: nothing downloads
        import torch, torchvision.models as tvm
        from imgcls_tricks.learner import _weights, _cached_file
        env['TORCH_HOME'] = os.environ['TORCH_HOME'] = str(work/'torch')
        f = _cached_file(_weights(cmd[cmd.index('--arch') + 1])); f.parent.mkdir(parents=True)
        torch.save(tvm.get_model(cmd[cmd.index('--arch') + 1]).state_dict(), f); del os.environ['TORCH_HOME']
    full = cmd + ({'train': ['--epochs', '1'], 'find-lr': ['--runs', '1']}.get(cmd[1], []) if '--epochs' not in cmd else [])
    full += ['--quiet']
    r = subprocess.run(full, cwd=work, env=env, capture_output=True, text=True)
    expect = {'train': ['imgcls_run/model.pkl', 'imgcls_run/metrics.json', 'imgcls_run/report.html'],
              'find-lr': ['imgcls_lr/lr_find.png', 'imgcls_lr/lr_find.json'],
              'predict': [cmd[cmd.index('--out') + 1] if '--out' in cmd else 'predictions.csv'],
              'report': [cmd[2] + '/report.html'],
              'clean': [] if '--apply' in cmd else ['clean/candidates.csv', 'clean/review.html', 'clean/decisions.csv']}[cmd[1]]
    files = [f for f in expect if not (work/f).is_file()]
    if cmd[1] == 'clean' and '--apply' in cmd and tree_hash(work/'path') != before: files.append('(the dry run changed the dataset)')
    print(f"{'ok ' if r.returncode == 0 and not files else 'FAIL'} {shlex.join(full)}: {r.stdout.strip()[-160:]}")
    if r.returncode or files: failed.append((shlex.join(full), r.returncode, files, r.stderr[-800:]))
for f in failed: print('FAILED:', *f, sep='\n  ')
print(f"README commands: {len(cmds) - 1 - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
