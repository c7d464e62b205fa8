"""Run the library's tricks under data-parallel training; every process writes what it saw to `<out>/rank<r>.json`.

One process: `python ddp_check.py OUT`; two: `torchrun --nproc_per_node 2 ddp_check.py OUT` (gloo on CPUs).
`nbs/tests/distrib.ipynb` runs both and compares them."""
import sys, json, time, warnings
from pathlib import Path
import torch
warnings.filterwarnings('ignore')
torch.set_num_threads(1)
from fastai.vision.all import *
from imgcls_tricks.distrib import rank0_result, set_rank_seed
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.data import folder_dls
from imgcls_tricks.augment import AugPolicy
from imgcls_tricks.learner import simple_cnn
from imgcls_tricks.callback.mixup import MixCut
from imgcls_tricks.callback.progresize import ProgressiveResize
from imgcls_tricks.callback.schedule import SnapshotSaver
from imgcls_tricks.callback.lr_find import LRFindResult
from imgcls_tricks.diagnose.log import ExperimentLog
from imgcls_tricks.diagnose.report import per_class_report
from imgcls_tricks.tta import tta_preds

out = Path(sys.argv[1])
rank, world = rank_distrib(), max(1, num_distrib())
path = rank0_result(digits_folder, size=16)      # generated once, by process 0
GLOBAL_BS = 64

t0 = time.process_time()
dls = folder_dls(path, size=16, bs=GLOBAL_BS // world, policy=AugPolicy.none(), verbose=False)
res0 = dict(setup_cpu_s=round(time.process_time() - t0, 2))

def learner(bn=False, **kw):
    "Same data split and the same initial weights in every run; each process gets `GLOBAL_BS // world` items a step"
    set_seed(0)
    model = simple_cnn(dls.c, widths=(8, 16), bn=bn)
    set_rank_seed(1)
    return Learner(dls, model, metrics=accuracy, path=out, **kw)

def weights(learn): return torch.cat([p.detach().flatten() for p in learn.model.parameters()])

class Count(Callback):
    "Count training steps in this process"
    n = 0
    def after_batch(self): self.n += int(self.training)

res = dict(rank=rank, world=world, **res0)
def section(f):
    "Run one check; a failure is recorded (and the other checks still run) rather than ending the script"
    t = time.process_time()
    try: f()
    except Exception as e: res[f.__name__] = dict(error=f"{type(e).__name__}: {e}"[:300])
    res.setdefault('cpu_s', {})[f.__name__] = round(time.process_time() - t, 2)
    return f

@section
def fit():
    learn = learner(opt_func=SGD)
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging():
        learn.fit(1, 0.1)
        probs, targs = learn.ordered_preds()
        res['fit'] = dict(weights=weights(learn)[:64].tolist(), acc=float((probs.argmax(1) == targs).float().mean()),
                          n_valid=len(targs), targs=targs.tolist())
        rep = per_class_report(probs, targs, vocab=learn.dls.vocab)
        res['report_support'] = [int(s) for s in rep['support'].iloc[:learn.dls.c]]

@section
def tta():
    learn = learner()   # the same initial weights in every run, so the probabilities can be compared
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging():
        p_tta, t_tta = tta_preds(learn, tfms='5crop')
    res['tta'] = dict(n=len(t_tta), probs_sum=p_tta.sum(0).tolist(), targs=t_tta.tolist())

@section
def mixcut():
    mc = MixCut(seed=0)
    learn = learner(cbs=mc)
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    res['mixcut'] = dict(perm=mc.d['perm'][:8].tolist() if mc.d.get('perm') is not None else None,
                         w=weights(learn)[:8].tolist())

@section
def progresize():
    pr = ProgressiveResize(start_size=8, end_size=16, finish=0.5)
    learn = learner(bn=True, cbs=pr)
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    res['progresize'] = dict(sizes=[list(h['size']) for h in pr.history], w=weights(learn)[:8].tolist())

@section
def snapshots():
    learn = learner(cbs=SnapshotSaver(fname='snap'))
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging(): learn.fit_warm_restarts(2, 1, lr_max=1e-2)
    res['snapshots'] = [p.name for p in learn.snapshot_saver.paths]

@section
def explog():
    learn = learner(cbs=ExperimentLog(log_dir=out/'exp'))
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    res['explog'] = sorted(p.name for p in (out/'exp').iterdir())

@section
def find_lr():
    count = Count()
    learn = learner()
    with learn.parallel_ctx(), learn.no_bar(), learn.no_logging():
        r = learn.find_lr(num_it=10, cbs=count)
    res['find_lr'] = dict(lr=float(r.recommended), steps=count.n, w=weights(learn)[:8].tolist())

(out/f'rank{rank}.json').write_text(json.dumps(res))
