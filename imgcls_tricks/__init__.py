__version__ = "0.0.1"

# fastai's import triggers a torch deprecation warning that is not the user's concern; silence only that one.
import warnings as _warnings
_warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)

# `from imgcls_tricks import *`: every lesson's public names (each module's `__all__`, built by nbdev).
# New names only: nothing here rebinds a fastai name (tested in nbs/index.ipynb).
from .data import *
from .learner import *
from .callback.lr_find import *
from .callback.schedule import *
from .callback.mixup import *
from .callback.progresize import *
from .tta import *
from .clean import *
from .diagnose.curves import *
from .diagnose.report import *
from .diagnose.learning import *
from .diagnose.log import *
from .cli import recorder_history, training_metrics, write_report   # `train` stays in `imgcls_tricks.cli`: too generic a name for `import *`
