"`python -m imgcls_tricks ...` runs the `imgcls-tricks` command (handy under `accelerate launch` or without the script on PATH)."
from .cli import main
raise SystemExit(main())
