"""Benchmark for lesson 01 (choosing and starting a model): the from-scratch `simple_cnn` against plain fastai's
`vision_learner(resnet18, pretrained=False)` and a zoo model, on the 32-px digits, same data, same schedule
(`fit_one_cycle(epochs, 1e-2)`), in one run: parameters, seconds per epoch, final valid accuracy, and the time ratio
to the plain-fastai baseline.

Run from the repository root: `python bench/learner.py` (`--quick` for a 1-epoch smoke run). Writes
`bench/results/learner.json` and `bench/results/learner.md`. Timings are wall-clock on a shared CPU: noisy; compare
the ratios measured within one run."""
import argparse, json, time
from pathlib import Path
import pandas as pd, torch
from fastai.vision.all import Learner, vision_learner, resnet18, accuracy, set_seed
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.data import folder_dls
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.learner import simple_cnn, zoo_learner

def run(name, make, epochs, seed=42):
    set_seed(seed, reproducible=True)
    dls = folder_dls(digits_folder(), policy=AugPolicy.digits(), verbose=False)
    learn = make(dls)
    n_params = sum(p.numel() for p in learn.model.parameters())
    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 1e-2)
    secs = time.perf_counter() - t0
    return dict(model=name, params=n_params, s_per_epoch=round(secs / epochs, 2), valid_acc=round(float(learn.recorder.values[-1][-1]), 4))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='1 epoch per model')
    args = ap.parse_args()
    epochs = 1 if args.quick else 5
    rows = [run('plain fastai: vision_learner(resnet18, pretrained=False)', lambda d: vision_learner(d, resnet18, pretrained=False, metrics=accuracy), epochs),
            run('simple_cnn (this lesson)', lambda d: Learner(d, simple_cnn(d.c), metrics=accuracy), epochs),
            run("zoo_learner(dls, 'resnet18')", lambda d: zoo_learner(d, 'resnet18'), epochs),
            run("zoo_learner(dls, 'mobilenet_v3_small')", lambda d: zoo_learner(d, 'mobilenet_v3_small'), epochs)]
    df = pd.DataFrame(rows)
    df['time_ratio_vs_fastai'] = (df.s_per_epoch / df.s_per_epoch[0]).round(2)
    out = Path(__file__).parent/('results/quick' if args.quick else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    d = folder_dls(digits_folder(), verbose=False)
    meta = dict(epochs=epochs, lr=1e-2, torch_threads=torch.get_num_threads(), data=f'digits 32 px, {len(d.train_ds)} train / {len(d.valid_ds)} valid')
    (out/'learner.json').write_text(json.dumps(dict(meta=meta, rows=rows), indent=1))
    md = df.to_markdown(index=False) if _has_tabulate() else df.to_string(index=False)
    (out/'learner.md').write_text(f"# bench/learner.py\n\n{meta}\n\n{md}\n")
    print(meta); print(df.to_string(index=False))

def _has_tabulate():
    try: import tabulate; return True
    except ImportError: return False

if __name__ == '__main__': main()
