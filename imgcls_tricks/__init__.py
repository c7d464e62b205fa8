__version__ = "0.0.1"

# fastai's import triggers a torch deprecation warning that is not the user's concern; silence only that one.
# Registered here, before anything loads fastai, so it holds whichever of the two packages is imported first.
import warnings as _warnings
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

# The lessons' modules load on first use: `import imgcls_tricks.cli` (the command line, `--help`) stays light,
# and `from imgcls_tricks import *` brings every lesson's public names (each module's `__all__`, built by nbdev)
# and nothing else: no submodule names such as `data`, and no fastai name rebound (tested in nbs/index.ipynb).
_MODULES = ('data', 'images', 'augment', 'datasets', 'cached', 'csvdata', 'learner', 'callback.lr_find',
            'callback.schedule', 'callback.mixup', 'callback.progresize', 'tta', 'ensemble',
            'clean.issues', 'clean.dups', 'clean.review', 'clean.apply', 'diagnose.curves', 'diagnose.report',
            'diagnose.learning', 'diagnose.log', 'recipe', 'distrib', 'job')
_NOT_STAR = {'job': {'train'}}   # `train` stays in `imgcls_tricks.job`: too generic a name for `import *`

def _load_all() -> list:
    import importlib
    names = []
    for m in _MODULES:
        mod = importlib.import_module(f'{__name__}.{m}')
        public = [n for n in mod.__all__ if n not in _NOT_STAR.get(m, ())]
        globals().update({n: getattr(mod, n) for n in public})
        names += public
    return names

def __getattr__(name:str):
    if name.startswith('_') and name != '__all__': raise AttributeError(name)
    g = globals()
    if '__all__' not in g: g['__all__'] = _load_all()
    if name in g: return g[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
