"""Shared by bench/lr_find.py and bench/schedules.py: the embedded digits decoded once into memory (16 px, 1 channel)
and a small-CNN learner on them built from given initial weights, so every run in a benchmark starts identically."""
import numpy as np, torch
from PIL import Image
from fastai.vision.all import Learner, DataLoaders, TfmdDL, CrossEntropyLossFlat, accuracy, set_seed
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.learner import simple_cnn

WIDTHS = (16, 32, 64)

def digits_tensors():
    "Train and valid digits as normalised 1x16x16 tensors (decoded once and pooled 2x, so a shared CPU copes)"
    root = digits_folder()
    def load(split):
        fs = sorted((root/split).glob('*/*.png'))
        x = torch.stack([torch.from_numpy(np.array(Image.open(f).convert('L'), dtype=np.float32)) for f in fs])
        x = torch.nn.functional.avg_pool2d(x[:, None] / 255., 2)
        return (x - 0.5) / 0.5, torch.tensor([int(f.parent.name) for f in fs])
    return load('train'), load('valid')

def init_weights(seed):
    "Initial weights of the benchmark's CNN, drawn under `seed`"
    set_seed(seed); return {k: v.clone() for k, v in simple_cnn(10, n_in=1, widths=WIDTHS).state_dict().items()}

def make_learner(data, init, seed, bs=64):
    "A learner on `data` starting from weights `init`, with the batch order fixed by `seed`"
    (xt, yt), (xv, yv) = data
    set_seed(seed)
    dls = DataLoaders(TfmdDL(list(zip(xt, yt)), bs=bs, shuffle=True, drop_last=True, num_workers=0),
                      TfmdDL(list(zip(xv, yv)), bs=512, num_workers=0))
    model = simple_cnn(10, n_in=1, widths=WIDTHS); model.load_state_dict(init)
    learn = Learner(dls, model, loss_func=CrossEntropyLossFlat(), metrics=accuracy)
    learn.remove_cb(learn.progress)   # no progress bars in a benchmark
    return learn
