"""Benchmark for lesson 06 (TTA and ensembles): accuracy with and without each TTA set, the time it costs relative
to plain inference, and the gains of a seed ensemble and of a snapshot ensemble, on the flip-safe generated textures
(64 px, 4 classes) and on digits (32 px, no flips).

Run from the repository root: `python bench/tta.py` (`--quick` for a smoke run). Writes `bench/results/tta.json`
and `bench/results/tta.md`.

Method. Small CNNs (`simple_cnn`) trained with `fit_one_cycle` under each task's `AugPolicy`. Accuracy is on the
whole validation set, each TTA set at equal weights (`beta=None`); `choose_tta` picks set and beta on half of it and
reports the gain on the other half. Time: plain `learn.get_preds` and the TTA call are timed in alternating rounds
(so load on the shared CPU hits both; torch on one thread) and the ratio of the medians is reported, next to the number of forward passes
(a TTA pass should cost no more than 1.1 plain passes). fastai's own `Learner.tta(n=4)` is timed the same way for comparison. Ensembles:
three seeds of the same model, and the snapshots of one SGDR run (three cycles), both through `choose_ensemble`
(members and weights chosen on one half of the validation set, reported on the other). One run; times are noisy."""
import argparse, json, time, tempfile, warnings, statistics as st
from pathlib import Path
from fastai.vision.all import *
from imgcls_tricks.datasets import digits_folder, textures_folder
from imgcls_tricks.data import folder_dls
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.learner import simple_cnn
from imgcls_tricks.tta import *
from imgcls_tricks.ensemble import *
from imgcls_tricks.callback.schedule import SnapshotSaver   # also adds Learner.fit_warm_restarts

def train(dls, n_out, epochs, lr, seed):
    set_seed(seed)
    learn = Learner(dls, simple_cnn(n_out), metrics=accuracy, path=Path(tempfile.mkdtemp()))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr)
    return learn

def snapshots(dls, n_out, n_cycles, cycle_len, lr, seed=0):
    "SGDR (`fit_warm_restarts`, equal cycles) with a `SnapshotSaver` checkpoint at each cycle end"
    set_seed(seed)
    learn = Learner(dls, simple_cnn(n_out), metrics=accuracy, path=Path(tempfile.mkdtemp()))
    saver = SnapshotSaver()
    with learn.no_bar(), learn.no_logging(): learn.fit_warm_restarts(n_cycles, cycle_len, lr_max=lr, cbs=saver)
    return learn, [Path(p) for p in saver.paths]

def timed(fns, rounds):
    "Median wall time of each function, run in alternating order for `rounds` rounds after one warm-up"
    res = {k: [] for k in fns}
    for r in range(rounds+1):
        order = list(fns) if r % 2 else list(fns)[::-1]
        for k in order:
            t = time.perf_counter(); fns[k](); dt = time.perf_counter() - t
            if r: res[k].append(dt)
    return {k: st.median(v) for k,v in res.items()}

def acc(p, y): return (p.argmax(1) == y).float().mean().item()

def run_task(name, path, policy, epochs, lr, cycle_len, rounds, sets):
    dls = folder_dls(path, bs=64, policy=policy, verbose=False)
    n_out = len(dls.vocab)
    t0 = time.time()
    learns = [train(dls, n_out, epochs, lr, seed) for seed in (0, 1, 2)]
    learn = learns[0]
    plain_fn = lambda: learn.get_preds()
    with learn.no_bar(): p0,y = learn.get_preds()
    rows = [dict(tfms='none (plain get_preds)', passes=1, accuracy=acc(p0, y), time_ratio=1.0, ratio_per_pass=1.0)]
    for s in sets:
        k = {'flip': 1, '5crop': 5, '10crop': 10, 'random': 4}[s]
        p,_ = tta_preds(learn, tfms=s, policy=policy)
        with learn.no_bar(): t = timed({'plain': plain_fn, 'tta': lambda: tta_preds(learn, tfms=s, policy=policy)}, rounds)
        rows.append(dict(tfms=s + (' (n=4)' if s == 'random' else ''), passes=k+1, accuracy=acc(p, y),
                         time_ratio=t['tta']/t['plain'], ratio_per_pass=t['tta']/t['plain']/(k+1)))
    with learn.no_bar():
        p,_ = learn.tta(n=4)
        t = timed({'plain': plain_fn, 'tta': lambda: learn.tta(n=4)}, rounds)
    rows.append(dict(tfms='fastai Learner.tta (n=4)', passes=5, accuracy=acc(p, y), time_ratio=t['tta']/t['plain'],
                     ratio_per_pass=t['tta']/t['plain']/5))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ch = choose_tta(learn, candidates=sets, policy=policy)
    seed_probs = [tta_preds(l, tfms=None)[0] for l in learns]
    seed_ens = choose_ensemble(seed_probs, y, names=['seed0', 'seed1', 'seed2'])
    div = ensemble_diversity(seed_probs, y, names=['seed0', 'seed1', 'seed2'])
    corr = div.drop(columns='accuracy').values
    slearn, files = snapshots(dls, n_out, 3, cycle_len, lr)
    snap_probs,_ = checkpoint_preds(slearn, files)
    snap_ens = choose_ensemble(snap_probs, y, names=[f.stem for f in files])
    return dict(task=name, n_valid=len(y), epochs=epochs, tta=rows,
                choose=dict(tfms=ch.tfms, beta=ch.beta, passes=ch.passes, plain=ch.plain, tta=ch.tta, gain=ch.gain),
                seed_ensemble=dict(table=seed_ens.table.to_dict('records'), members=seed_ens.members, gain=seed_ens.gain,
                                   best_single=seed_ens.best_single, mean_error_corr=float(corr[~np.eye(len(corr), dtype=bool)].mean())),
                snapshot_ensemble=dict(table=snap_ens.table.to_dict('records'), members=snap_ens.members, gain=snap_ens.gain,
                                       best_single=snap_ens.best_single, cycle_len=cycle_len),
                seconds=time.time()-t0)

def markdown(results):
    out = []
    for r in results:
        out.append(f"**{r['task']}** ({r['n_valid']} validation images, {r['epochs']} epochs of one-cycle)\n")
        out.append('| TTA | passes | accuracy | Δ vs plain (points) | time ÷ plain | ÷ passes |\n|---|---|---|---|---|---|')
        base = r['tta'][0]['accuracy']
        for row in r['tta']:
            out.append(f"| {row['tfms']} | {row['passes']} | {row['accuracy']:.4f} | {100*(row['accuracy']-base):+.2f} | "
                       f"{row['time_ratio']:.2f} | {row['ratio_per_pass']:.2f} |")
        c = r['choose']
        out.append(f"\n`choose_tta` picked **{c['tfms']}**, beta={c['beta']} on one half; on the other half plain "
                   f"{c['plain']:.4f} → {c['tta']:.4f} ({100*c['gain']:+.2f} points).\n")
        for key, label in (('seed_ensemble', '3 seeds'), ('snapshot_ensemble', 'SGDR snapshots')):
            e = r[key]
            out.append(f"Ensemble of {label}" + (f" (mean error correlation {e['mean_error_corr']:.2f})" if 'mean_error_corr' in e else
                                                   f" (SnapshotSaver, 3 cycles of {e['cycle_len']} epochs)") + ", report half:\n")
            out.append('| ' + ' | '.join(o['ensemble'] for o in e['table']) + ' |\n|' + '---|'*len(e['table']))
            out.append('| ' + ' | '.join(f"{o['report']:.4f}" for o in e['table']) + ' |')
            out.append(f"\nselected {e['members']}; gain of their mean over the best single member on the choose half "
                       f"({e['best_single']}): {100*e['gain']:+.2f} points.\n")
    return '\n'.join(out)

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='tiny smoke run')
    a = ap.parse_args()
    q = a.quick
    torch.set_num_threads(1)   # one thread: steadier timings on a shared CPU
    tasks = [('textures (flip-safe, 64 px)', textures_folder(flip_safe=True, n_per_class=60 if q else 250),
              AugPolicy(), 1 if q else 10, 1e-2, 1 if q else 2, 1 if q else 3, ('flip', '5crop', '10crop', 'random')),
             ('digits (32 px, no flips)', digits_folder(), AugPolicy.digits(), 1 if q else 6, 1e-2, 1 if q else 2, 1 if q else 3,
              ('5crop', 'random'))]
    results = []
    for t in tasks:
        r = run_task(*t); results.append(r); print(markdown([r]), flush=True)
    out = Path(__file__).parent/('results/quick' if q else 'results'); out.mkdir(parents=True, exist_ok=True)   # a smoke run never overwrites the recorded numbers
    stem = 'tta'
    (out/f'{stem}.json').write_text(json.dumps(results, indent=1, default=str))
    (out/f'{stem}.md').write_text(markdown(results) + '\n')
    print(f'wrote {out}/{stem}.json and .md')
