"""Benchmark for lesson 07 (cleaning).

Label errors: two datasets (the embedded digits, and 10 classes of 32-px crops of scikit-image's bundled photos),
symmetric noise (10 % of training labels moved to a random other class) and asymmetric noise (30 % of 7→1, 3→8,
5→6; for photos the classes at those positions). Detection F1 of each method on the SAME out-of-fold probabilities,
then retraining (same model, epochs, >= 3 seeds) on noisy / cleaned / true labels.
Duplicates: 5,000 natural-looking images (photo crops + coloured digits) in train/valid/test folders with planted
exact and near copies (1-px shift, noise, JPEG q75): the library vs imagehash pHash/dHash loops and cleanvision.
The base images must be distinct for "false pair" to mean anything: a mirror image of a photo tile that looks the same
as the tile (a symmetric texture: aligned RMS <= max(8, 0.25 x contrast), twice the library's thresholds) is dropped
and counted. The library is timed with one thread and with its default (one decoding thread per CPU).

Detection: cleanlab's default, the library's default (the flags of cleanlab's ranking by pair, and of its ranking by
class in classes whose estimated share of wrong labels is >= 5 %, checked against p(given)) and the pieces in between, on plain OOF probabilities and on the average of
--repeats OOF runs. Three noise draws (`--noise-seeds 0,1,2`): the library's rule was chosen on draws 0 and 1;
draw 2 tests it.
`--probs-cache DIR` keeps every OOF run
and retraining in DIR and reuses them (several processes may share one: `--warm-cache` fills it, `--reverse` retrains
the variants in reverse order), so a later run only assembles the tables; cached OOF runs keep their CPU seconds.

Run from the repository root: `python bench/clean.py` (`--quick` for a smoke run into bench/results/quick/)."""
import argparse, hashlib, io, json, os, shutil, sys, tempfile, time, warnings
from pathlib import Path
import numpy as np, torch
from PIL import Image
from fastai.vision.all import Learner, accuracy, set_seed, defaults
from cleanlab.filter import find_label_issues as cleanlab_find
from imgcls_tricks.datasets import digits_folder
from imgcls_tricks.clean.issues import oof_probs, find_label_issues, _folder_table, _fold_dls
from imgcls_tricks.clean.dups import find_duplicates, leakage_report
from imgcls_tricks.learner import simple_cnn

torch.set_num_threads(1); warnings.filterwarnings('ignore')
ASYM = {'7': '1', '3': '8', '5': '6'}

def photos_folder(dest, n_train=120, n_valid=40, seed=0):
    "10 classes = 10 of scikit-image's bundled photos; each image a random 32-px crop (random scale) of its photo."
    import skimage.data as sd
    names = ['astronaut', 'coffee', 'chelsea', 'rocket', 'camera', 'immunohistochemistry', 'moon', 'brick', 'grass', 'gravel']
    rng = np.random.default_rng(seed)
    for c, nm in enumerate(names):
        a = getattr(sd, nm)(); a = np.stack([a] * 3, -1) if a.ndim == 2 else a[..., :3]
        for split, k in (('train', n_train), ('valid', n_valid)):
            d = dest/split/str(c); d.mkdir(parents=True, exist_ok=True)
            for i in range(k):
                s = int(rng.integers(40, 160)); y, x = rng.integers(0, a.shape[0] - s), rng.integers(0, a.shape[1] - s)
                Image.fromarray(a[y:y + s, x:x + s]).resize((32, 32), Image.BILINEAR).save(d/f'{nm}{i:04d}.png')
    return dest

def noisy_labels(labels, kind, rng):
    "Noisy copy of `labels` (strings) and the mask of changed ones."
    labels = np.array(labels); new = labels.copy(); vocab = sorted(set(labels))
    if kind == 'symmetric':
        idx = rng.choice(len(labels), int(round(0.1 * len(labels))), replace=False)
        for i in idx: new[i] = rng.choice([v for v in vocab if v != labels[i]])
    else:
        for a, b in ASYM.items():
            idx = np.flatnonzero(labels == a); idx = rng.choice(idx, int(round(0.3 * len(idx))), replace=False); new[idx] = b
    return list(new), new != labels

def learner_factory(dls): return Learner(dls, simple_cnn(dls.c, widths=(16, 32, 64)), metrics=accuracy)

def fit_fn(epochs): return lambda l: l.fit_one_cycle(epochs, 1e-2)

RETRAIN_CACHE = None   # --probs-cache/retrain: one accuracy per (training set, labels, seed, epochs, size)

def retrain(items, labels, valid_items, valid_labels, epochs, seed, size):
    "Train on (items, labels) from scratch, return accuracy on the untouched valid set."
    key = hashlib.sha1('\n'.join(['/'.join(Path(i).parts[-3:]) + '\t' + str(l) for i, l in zip(items, labels)] +
                                 [f'{len(valid_items)} {epochs} {seed} {size}']).encode()).hexdigest()
    f = RETRAIN_CACHE/f'{key}.json' if RETRAIN_CACHE else None
    if f is not None and f.exists(): return json.loads(f.read_text())['accuracy']
    set_seed(seed)
    allx, ally = list(items) + list(valid_items), list(labels) + list(valid_labels)
    dls = _fold_dls(allx, ally, np.arange(len(items), len(allx)), sorted(set(valid_labels)), size, 32, None, None)
    learn = learner_factory(dls)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(epochs, 1e-2); acc = float(learn.validate()[1])
    if f is not None: f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(dict(accuracy=acc)))
    return acc

def prf(flag, truth):
    tp = int((flag & truth).sum()); p = tp / max(flag.sum(), 1); r = tp / max(truth.sum(), 1)
    return dict(flagged=int(flag.sum()), precision=round(p, 3), recall=round(r, 3), f1=round(2 * p * r / max(p + r, 1e-9), 3))

def oof_runs(args, items, labels, vocab, tag, size):
    "`args.repeats` OOF runs (run r: folds seeded 42+r, models seeded r); kept in / read from --probs-cache if given."
    cache = Path(args.probs_cache)/tag if args.probs_cache else None
    runs, cpu, wall = [], [], []
    for r in range(args.repeats):
        f = cache/f'r{r}.npy' if cache else None
        if f is not None and f.exists():   # the same call, made earlier: its probabilities and its own timing
            t = json.loads(f.with_suffix('.json').read_text()) if f.with_suffix('.json').exists() else {}
            runs.append(np.load(f)); cpu.append(t.get('cpu')); wall.append(t.get('wall')); continue
        set_seed(r); c0, w0 = time.process_time(), time.time()
        runs.append(oof_probs(items, labels, learner_factory, n_folds=args.folds, fit=fit_fn(args.epochs), size=size,
                              bs=32, seed=42 + r, vocab=vocab, verbose=False)[0])
        cpu.append(time.process_time() - c0); wall.append(time.time() - w0)
        if cache:
            cache.mkdir(parents=True, exist_ok=True); np.save(f, runs[-1])
            f.with_suffix('.json').write_text(json.dumps(dict(cpu=cpu[-1], wall=wall[-1])))
    mean = lambda v: None if None in v else round(float(np.mean(v)), 1)
    return runs, dict(wall=mean(wall), cpu=mean(cpu), cached=bool(cache) and None in wall)

def detection(y, labels, vocab, wrong, P, tag, det, rows=True):
    "Detection rows on the probabilities P: cleanlab's default, the library's default, and what each piece adds."
    n, C = P.shape; pg = P[np.arange(n), y]
    cl = cleanlab_find(labels=y, pred_probs=P)
    det[f'cleanlab default, {tag}'] = prf(cl, wrong)
    lib = find_label_issues(P, labels, vocab).sort_values('idx')
    det[f'library default, {tag}'] = prf((lib.bucket == 'mislabeled').values, wrong)
    if rows:
        by = {fb: cleanlab_find(labels=y, pred_probs=P, filter_by=fb) for fb in ('both', 'low_self_confidence')}
        for fb, m in by.items(): det[f"cleanlab filter_by='{fb}', {tag}"] = prf(m, wrong)
        det[f"either ranking, unchecked (default | 'low_self_confidence'), {tag}"] = prf(cl | by['low_self_confidence'],
                                                                                        wrong)
        _, lib1 = check_only(y, P, cl)
        det[f"cleanlab default, checked (the check alone), {tag}"] = prf(lib1, wrong)
    return cl, lib

def check_only(y, P, flags):
    "The library's check on cleanlab's default flags alone: p(given) < max(1/C, 2 x the pair's estimated noise rate)."
    from cleanlab.count import estimate_joint
    n, C = P.shape; J = estimate_joint(y, P); rate = J / J.sum(0, keepdims=True); pred = P.argmax(1)
    keep = P[np.arange(n), y] < np.maximum(1 / C, 2 * rate[y, pred])
    return keep, flags & keep

def sizes(args) -> dict:
    "Training side per dataset, from --size: one number for all, or 'name:side,...'."
    if ':' not in args.size: return {k: int(args.size) for k in ('digits', 'photos')}
    return {k: int(v) for k, v in (kv.split(':') for kv in args.size.split(','))}

def label_noise(args, root, name, kind, out, noise_seed=0):
    t = _folder_table(root); tr, va = t[t.split == 'train'], t[t.split == 'valid']
    items, valid_items, true = [root/p for p in tr.path], [root/p for p in va.path], list(tr.label)
    labels, wrong = noisy_labels(true, kind, np.random.default_rng(noise_seed))
    vocab = sorted(set(true)); y = np.array([vocab.index(l) for l in labels])
    size = sizes(args)[name]
    tag = f'{name}_{kind}_e{args.epochs}_s{size}_f{args.folds}' + (f'_n{noise_seed}' if noise_seed else '')
    if args.probs_cache:   # what a later analysis of the cached runs needs: given and true labels
        (Path(args.probs_cache)/tag).mkdir(parents=True, exist_ok=True)
        (Path(args.probs_cache)/tag/'meta.json').write_text(json.dumps(dict(labels=labels, true=true, vocab=vocab)))
    runs, secs = oof_runs(args, items, labels, vocab, tag, size)
    plain, avg = runs[0], np.mean(runs, 0)
    det = {}
    c0 = time.time(); cl = cleanlab_find(labels=y, pred_probs=plain); t_cl_default = time.time() - c0
    c0 = time.time(); find_label_issues(plain, labels, vocab); t_lib = time.time() - c0
    cl, lib = detection(y, labels, vocab, wrong, plain, 'plain OOF', det)
    th = find_label_issues(plain, labels, vocab, method='thresholds').sort_values('idx')
    det["article's rule (wrong & p > 0.9), plain OOF"] = prf((th.bucket == 'mislabeled').values, wrong)
    det["article's 'ambiguous' bucket (max p 0.5-0.6), plain OOF"] = prf((th.bucket == 'ambiguous').values, wrong)
    cla, liba = detection(y, labels, vocab, wrong, avg, f'OOF averaged over {args.repeats} runs', det)
    acc_true = [round(float((p.argmax(1) == np.array([vocab.index(l) for l in true])).mean()), 3) for p in runs]
    tags = ['plain OOF', f'OOF averaged over {args.repeats} runs']
    same = {t: round(float(det[f'library default, {t}']['f1'] - det[f'cleanlab default, {t}']['f1']), 3) for t in tags}
    same['library on averaged OOF vs cleanlab on plain OOF'] = round(float(det[f'library default, {tags[1]}']['f1'] -
                                                                            det[f'cleanlab default, {tags[0]}']['f1']), 3)
    res = dict(train=len(items), wrong=int(wrong.sum()), detection=det, f1_library_minus_cleanlab=same,
               oof_accuracy_vs_true_labels=acc_true,
               oof_seconds_per_run=secs,
               wall_ms=dict(cleanlab_default=round(1000 * t_cl_default, 1), library_default_n_jobs_1=round(1000 * t_lib, 1)))
    if name in args.retrain_on.split(',') and args.retrain_seeds:
        keep = lambda m: ([i for i, k in zip(items, m) if k], [l for l, k in zip(labels, m) if k])
        relab = [p if b == 'mislabeled' else l for l, p, b in zip(labels, liba.pred, liba.bucket)]
        variants = {'noisy labels': (items, labels), 'remove cleanlab issues (plain OOF)': keep(~cl),
                    'library default: remove (averaged OOF)': keep((liba.bucket != 'mislabeled').values),
                    'library default: relabel to prediction (averaged OOF)': (items, relab),
                    'true labels (oracle)': (items, true)}
        if args.article_retrain:
            variants["article's rule: remove wrong & p > 0.9"] = keep((th.bucket != 'mislabeled').values)
            variants["article's full rule: also remove max p 0.5-0.6"] = keep(~th.bucket.isin(['mislabeled', 'ambiguous']).values)
        acc = {}
        for k in (list(variants)[::-1] if args.reverse else list(variants)):   # --reverse: a 2nd process on the cache
            it, lb = variants[k]
            a = [retrain(it, lb, valid_items, list(va.label), args.epochs, s, size) for s in range(args.retrain_seeds)]
            acc[k] = dict(mean=round(float(np.mean(a)), 4), per_seed=[round(x, 4) for x in a])
            print(name, kind, k, acc[k], flush=True)
        res['valid_accuracy'] = {k: acc[k] for k in variants}
    out.setdefault('label_noise', {})[f'{name}, {kind}' + (f' (noise draw {noise_seed})' if noise_seed else '')] = res
    print(name, kind, json.dumps(res, indent=1), flush=True)

# ---------------------------------------------------------------- duplicates
DROPPED = {'mirror twins': 0}
DUP_REPEATS = 3   # timings: median of this many interleaved runs of each method

def _distinct(a, b) -> bool:
    "Base-set ground truth: aligned by up to 1 px, the 32-px images differ by RMS > max(8, 0.25 x contrast)."
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32); con = min(a.std((0, 1)).mean(), b.std((0, 1)).mean())
    rms = min(np.sqrt(((a[1:-1, 1:-1] - b[1 + dy:31 + dy, 1 + dx:31 + dx]) ** 2).mean())
              for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return rms > max(8., 0.25 * con)   # twice the library's default thresholds (and measured without its low-pass)

def _dup_base(rng, n):
    "n distinct natural-looking 32-px images: crops of bundled photos (textured only) and digits in random colours."
    import skimage.data as sd
    photos = [sd.astronaut(), sd.coffee(), sd.chelsea(), sd.rocket(), sd.immunohistochemistry(),
              np.stack([sd.camera()] * 3, -1)]   # photos of things (pure textures: see README)
    ims = []
    digits = sorted(Path(digits_folder()).glob('*/*/*.png'))
    grey = lambda im: np.asarray(im.convert('L'), dtype=np.float32)[..., None] / 255
    def coloured(f):   # a digit in a random colour with at least one bright channel
        col = rng.integers(0, 256, 3); col[rng.integers(3)] = rng.integers(128, 256)
        return Image.fromarray((grey(Image.open(f)) * col).astype(np.uint8))
    ims += [coloured(f) for f in digits[:n // 3]]
    ims[1] = Image.fromarray((grey(ims[0]) * [0, 200, 0]).astype(np.uint8))     # green
    ims[2] = Image.fromarray((grey(ims[0]) * [200, 0, 200]).astype(np.uint8))   # magenta
    tiles = []   # non-overlapping 32-px tiles of each photo and their mirror images, unless a mirror looks the same
    for p in photos:
        for y in range(0, p.shape[0] - 31, 32):
            for x in range(0, p.shape[1] - 31, 32):
                c = p[y:y + 32, x:x + 32]
                if c.reshape(-1, 3).std(0).mean() <= 20: continue
                kept = []
                for v in (c, c[:, ::-1], c[::-1], c[::-1, ::-1], c.transpose(1, 0, 2)):
                    if all(_distinct(v, k) for k in kept): kept.append(v)
                    else: DROPPED['mirror twins'] += 1
                tiles += kept
    for k in rng.permutation(len(tiles))[:n - len(ims)]: ims.append(Image.fromarray(np.ascontiguousarray(tiles[k])))
    ims += [coloured(f) for f in digits[n // 3:n // 3 + n - len(ims)]]   # not enough tiles: more digits
    if len(ims) < n: raise ValueError(f'only {len(ims)} distinct base images for n={n}')
    return ims

def _perturb(im, k, rng):
    a = np.asarray(im).astype(int)
    if k == 'shift': a = np.roll(a, 1, axis=int(rng.integers(2)))
    if k == 'noise': a = a + rng.integers(-8, 9, a.shape)
    im = Image.fromarray(a.clip(0, 255).astype(np.uint8))
    if k == 'jpeg': b = io.BytesIO(); im.save(b, 'JPEG', quality=75); im = Image.open(b).convert('RGB')
    return im

def _timed(f):
    "(f(), wall s, CPU s of this process, all its threads)."
    cpu = lambda: time.process_time() + sum(os.times()[2:4])
    c0, w0 = cpu(), time.time(); r = f(); return r, time.time() - w0, cpu() - c0

def duplicates(args, out):
    work = Path(tempfile.mkdtemp(prefix='bench_dups_')); rng = np.random.default_rng(0)
    n, ne, nn_ = args.n_images, args.n_images // 25, args.n_images // 25
    base = _dup_base(rng, n - ne - nn_); files = []
    splits = rng.choice(['train', 'valid', 'test'], n, p=[0.7, 0.15, 0.15])
    for i, im in enumerate(base):
        f = work/splits[i]/'x'/f'b{i:05d}.png'; f.parent.mkdir(parents=True, exist_ok=True); im.save(f); files.append(f)
    src = rng.choice(np.arange(3, len(base)), ne + nn_, replace=False); planted, kinds = {}, ['shift', 'noise', 'jpeg']
    for k, i in enumerate(src):
        j = len(files); kind = 'exact' if k < ne else kinds[k % 3]
        im = base[i] if kind == 'exact' else _perturb(base[i], kind, rng)
        f = work/splits[j]/'x'/f'p{j:05d}.png'; f.parent.mkdir(parents=True, exist_ok=True); im.save(f); files.append(f)
        planted[(files[i].name, f.name)] = kind
    rel = lambda f: Path(f).name
    def score(pairs):
        got = {tuple(sorted((rel(a), rel(b)))) for a, b in pairs}
        res = {k: sum(p in got for p, kk in planted.items() if kk == k) for k in ['exact'] + kinds}
        res['near found (of %d)' % nn_] = sum(res[k] for k in kinds); res['false pairs'] = len(got - set(planted))
        res['pairs reported'] = len(got); res['false share'] = round(res['false pairs'] / max(len(got), 1), 4)
        res['green~magenta reported'] = tuple(sorted(('b00001.png', 'b00002.png'))) in got
        return res
    import imagehash
    def hash_loop(fn):   # the loop users write: one file after the other, in this process
        return np.array([int(str(fn(Image.open(f))), 16) for f in files], dtype=np.uint64)
    def hamming_pairs(h):
        pairs = []
        for s in range(0, n, 1000):
            dd = np.bitwise_count(h[s:s + 1000, None] ^ h[None, :]); i, j = np.nonzero(dd <= 4)
            pairs += [(files[a + s], files[b]) for a, b in zip(i, j) if b > a + s]
        return pairs
    lib_runs = {'library, one thread (n_workers=0)': lambda: find_duplicates(work, n_workers=0),
                'library (find_duplicates)': lambda: find_duplicates(work),
                'library on the file list, one thread':
                    lambda: find_duplicates(files, splits=list(splits), n_workers=0),
                'library on the file list, default threads': lambda: find_duplicates(files, splits=list(splits))}
    T, res = {}, {}   # timings interleaved over repeats, so that a busy spell of the machine hits every method
    for r in range(DUP_REPEATS):
        for nm, fn in [('imagehash pHash', lambda: hash_loop(imagehash.phash))] + list(lib_runs.items()):
            res[nm], w, c = _timed(fn); T.setdefault(nm, []).append((w, c))
    med = lambda nm, k: round(float(np.median([t[k] for t in T[nm]])), 2)
    R = {}
    for nm in lib_runs:
        d = res[nm]; R[nm] = dict(score(zip(d.a, d.b)), wall=med(nm, 0), cpu=med(nm, 1))
    d = res['library (find_duplicates)']; lib = R['library (find_duplicates)']
    lib['test images with a twin in another split'] = int(
        sum(str(s) == 'test' for s in list(d.split_a[d.cross_split]) + list(d.split_b[d.cross_split])))
    lib['leakage report'] = {k: int(v) for k, v in leakage_report(d).items()}
    for nm, fn in (('imagehash pHash', imagehash.phash), ('imagehash dHash', imagehash.dhash)):
        if nm not in T: res[nm], w, c = _timed(lambda: hash_loop(fn)); T[nm] = [(w, c)]
        pairs, w, c = _timed(lambda: hamming_pairs(res[nm]))
        R[f'{nm} loop, Hamming <= 4'] = dict(score(pairs), wall=round(med(nm, 0) + w, 2), cpu=round(med(nm, 1) + c, 2),
                                             hash_loop_wall=med(nm, 0), hash_loop_cpu=med(nm, 1))
    try:
        from cleanvision import Imagelab
        import contextlib
        def cv():
            lab = Imagelab(filepaths=[str(f) for f in files])
            with contextlib.redirect_stdout(io.StringIO()):
                lab.find_issues({'exact_duplicates': {}, 'near_duplicates': {}}, n_jobs=1)
            return lab
        lab, w, c = _timed(cv)
        pairs = [(a, b) for k in ('exact_duplicates', 'near_duplicates') for s in lab.info[k]['sets']
                 for a in s for b in s if a < b]
        R['cleanvision (exact + near)'] = dict(score(pairs), wall=round(w, 2), cpu=round(c, 2))
    except Exception as e: R['cleanvision (exact + near)'] = f'failed: {type(e).__name__}: {e}'
    ph = R['imagehash pHash loop, Hamming <= 4']
    ratio = lambda nm: (round(ph['hash_loop_wall'] / R[nm]['wall'], 2), round(ph['hash_loop_cpu'] / R[nm]['cpu'], 2))
    R['throughput ratio library / pHash hash loop (wall)'] = ratio('library (find_duplicates)')[0]
    R['throughput ratio library / pHash hash loop (cpu)'] = ratio('library (find_duplicates)')[1]
    for nm in lib_runs:
        if nm != 'library (find_duplicates)': R[f'throughput ratio {nm} / pHash hash loop (wall, cpu)'] = ratio(nm)
    R['timings (wall, cpu) of each repeat'] = {k: [(round(w, 2), round(c, 2)) for w, c in v] for k, v in T.items()}
    # pair search alone at 20k: KD-tree on projected thumbnails vs brute force
    from imgcls_tricks.clean.dups import _radius_pairs
    X = np.concatenate([np.stack([np.asarray(b.resize((8, 8), Image.BOX), np.float32).ravel() for b in base])] * 5)
    X = X + rng.normal(0, 3, X.shape).astype(np.float32); X = X[:20_000]; r = 12 * np.sqrt(X.shape[1])
    w0 = time.time(); p = _radius_pairs(X, r); t_kd = time.time() - w0
    w0 = time.time(); cnt = 0; sq = (X ** 2).sum(1)
    for s in range(0, len(X), 2000):
        d2 = sq[s:s + 2000, None] + sq[None] - 2 * X[s:s + 2000] @ X.T; i, j = np.nonzero(d2 <= r * r)
        cnt += int((j > i + s).sum())
    R['pair search at 20k (s): KD-tree on projection vs brute force'] = dict(
        kdtree=round(t_kd, 2), brute=round(time.time() - w0, 2), pairs=len(p), brute_pairs=cnt)
    out['duplicates'] = dict(images=n, planted_exact=ne, planted_near=nn_, threads=defaults.cpus,
                             repeats=DUP_REPEATS, methods=R, base_mirror_twins_dropped=DROPPED['mirror twins'])
    print(json.dumps(out['duplicates'], indent=1), flush=True)
    shutil.rmtree(work, ignore_errors=True)

def summary(out) -> list:
    "Lines over every label-noise case: F1 of the library minus cleanlab's on the same probabilities; retraining."
    f1, prec, gains = [], {}, {}
    for key, r in out.get('label_noise', {}).items():
        d = r['detection']; lib = [k for k in d if k.startswith('library default')]
        f1 += [d[k]['f1'] - d[k.replace('library default', 'cleanlab default')]['f1'] for k in lib]
        if ', symmetric' in key: prec.setdefault(key.split(',')[0], []).extend(d[k]['precision'] for k in lib)
        va = r.get('valid_accuracy', {})
        for k in [k for k in va if k.startswith('library default')]:
            gains.setdefault(k, []).append(np.subtract(va[k]['per_seed'], va['remove cleanlab issues (plain OOF)']['per_seed']))
    if not f1: return []
    f1 = np.array(f1)
    L = [f"- F1 of the library's default minus cleanlab's default, same probabilities: >= 0 in {(f1 >= 0).sum()} of "
         f"{len(f1)} comparisons, from {f1.min():+.3f} to {f1.max():+.3f}"]
    L += [f"- precision of the library's default with symmetric noise, {k}: {min(v):.3f} to {max(v):.3f}"
          for k, v in prec.items()]
    for k, g in gains.items():
        rt = np.concatenate(g)
        L.append(f"- retrained valid accuracy, {k} minus cleanlab's removal (plain OOF), paired by case and seed: mean "
                 f"{rt.mean():+.4f} (sd {rt.std():.4f}) over {len(rt)} pairs; {(rt > 0).sum()} higher, "
                 f"{(rt == 0).sum()} equal, {(rt < 0).sum()} lower; mean over seeds at least cleanlab's in "
                 f"{sum(x.mean() >= -1e-9 for x in g)} of {len(g)} cases")
    return ['### Summary', ''] + L + ['']

def to_md(out):
    L = [f"Run: `python bench/clean.py` ({out['args']}); torch threads {out['torch threads']}. Wall and CPU seconds on a shared 2-core machine.", '']
    L += summary(out)
    for key, r in out.get('label_noise', {}).items():
        L += [f"### {key}: {r['wrong']} of {r['train']} training labels wrong", '', '| detection (same probabilities) | flagged | precision | recall | F1 |', '|---|---|---|---|---|']
        L += [f"| {k} | {v['flagged']} | {v['precision']} | {v['recall']} | {v['f1']} |" for k, v in r['detection'].items()]
        sec = r['oof_seconds_per_run']; note = ' (computed earlier by the same call; wall not kept)' if sec.get('cached') else ''
        L += ['', f"OOF probabilities per run: {sec} s{note}; their accuracy against the true labels per run: "
              f"{r.get('oof_accuracy_vs_true_labels')}; wall ms of the detection call: {r['wall_ms']}", '',
              f"F1 of the library's default minus cleanlab's default: {r.get('f1_library_minus_cleanlab')}", '']
        if 'valid_accuracy' in r:
            L += ['| retrained on | valid accuracy (mean) | per seed |', '|---|---|---|']
            L += [f"| {k} | {v['mean']:.4f} | {v['per_seed']} |" for k, v in r['valid_accuracy'].items()]
            L += ['']
    if 'duplicates' in out:
        d = out['duplicates']
        L += [f"### Duplicates: {d['images']} images, {d['planted_exact']} exact + {d['planted_near']} near planted", '',
              f"Wall and CPU seconds: median of {d.get('repeats', 1)} interleaved runs (CPU time of every thread).",
              '', '| method | exact | shift | noise | jpeg | near found | pairs reported | false pairs | false share '
              '| green~magenta | wall s | cpu s |', '|---|---|---|---|---|---|---|---|---|---|---|---|']
        for k, v in d['methods'].items():
            if isinstance(v, dict) and 'exact' in v:
                nf = [x for x in v if x.startswith('near found')][0]
                L.append(f"| {k} | {v['exact']} | {v['shift']} | {v['noise']} | {v['jpeg']} | {v[nf]} | "
                         f"{v['pairs reported']} | {v['false pairs']} | {v['false share']} | "
                         f"{v['green~magenta reported']} | {v['wall']} | {v['cpu']} |")
        L += [''] + [f"- {k}: {v}" for k, v in d['methods'].items() if not (isinstance(v, dict) and 'exact' in v)]
        lib = d['methods']['library (find_duplicates)']
        L += [f"- library, test images with a twin in another split: {lib['test images with a twin in another split']}; "
              f"leakage report: {lib['leakage report']}"]
    return '\n'.join(L) + '\n'

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--folds', type=int, default=5); ap.add_argument('--epochs', type=int, default=4)
    ap.add_argument('--repeats', type=int, default=3); ap.add_argument('--retrain-seeds', type=int, default=5)
    ap.add_argument('--size', default='digits:16,photos:32',
                    help='training side: one number, or per dataset (the digits are 8x8 scans: 16 px loses nothing; '
                         'the photo crops are stored at 32 px and halving them blurs the textures that tell them apart)')
    ap.add_argument('--n-images', type=int, default=5000)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--only', choices=['noise', 'dups'], default=None)
    ap.add_argument('--datasets', default='digits,photos'); ap.add_argument('--retrain-on', default='digits,photos')
    ap.add_argument('--probs-cache', default=None, help='folder keeping each OOF run and retraining (reused when there)')
    ap.add_argument('--kinds', default='symmetric,asymmetric')
    ap.add_argument('--noise-seeds', default='0,1,2', help='seeds of the label-noise draws (each draw: another test)')
    ap.add_argument('--warm-cache', action='store_true', help='only fill --probs-cache; write no results')
    ap.add_argument('--reverse', action='store_true', help='retrain the variants in reverse order')
    ap.add_argument('--article-retrain', action='store_true', help="also retrain on the article's rules' cleaning")
    ap.add_argument('--md-only', action='store_true', help='only write results/clean.md again from results/clean.json')
    args = ap.parse_args()
    if args.md_only:
        res = Path(__file__).parent/'results'; (res/'clean.md').write_text(to_md(json.loads((res/'clean.json').read_text())))
        sys.exit(0)
    if args.quick: args.folds, args.epochs, args.repeats, args.retrain_seeds, args.n_images = 3, 2, 2, 1, 2000
    out = {'torch threads': torch.get_num_threads(), 'args': {**vars(args), 'probs_cache': bool(args.probs_cache)}}
    if args.probs_cache: RETRAIN_CACHE = Path(args.probs_cache)/'retrain'
    if args.only != 'dups':
        tmp = Path(tempfile.mkdtemp(prefix='bench_clean_'))
        roots = {'digits': Path(digits_folder()), 'photos': photos_folder(tmp/'photos')}
        for seed in map(int, args.noise_seeds.split(',')):
            for name in args.datasets.split(','):
                for kind in args.kinds.split(','):
                    label_noise(args, roots[name], name, kind, out, seed)
        shutil.rmtree(tmp, ignore_errors=True)
    if args.only != 'noise': duplicates(args, out)
    if args.warm_cache: sys.exit(0)
    res = Path(__file__).parent/'results'/('quick' if args.quick else ''); res.mkdir(parents=True, exist_ok=True)
    sfx = '' if args.only is None else '.' + args.only
    if args.only is not None and not args.quick:   # a partial run: merge with the other half if it is there
        other = res/f"clean.{'dups' if args.only == 'noise' else 'noise'}.json"
        (res/f'clean{sfx}.json').write_text(json.dumps(out, indent=1))
        if other.exists():
            o = json.loads(other.read_text()); merged = {**o, **out, 'args': {'noise': (o if args.only == 'dups' else out)['args'],
                                                                            'dups': (out if args.only == 'dups' else o)['args']}}
            out, sfx = merged, ''
    (res/f'clean{sfx}.json').write_text(json.dumps(out, indent=1)); (res/f'clean{sfx}.md').write_text(to_md(out))
    print(to_md(out))
