"""A record of W&B's behaviour, asserted against the sandbox over real HTTP: one file per
feature, each fact a test citing the section of /work/shared/reference/wandb-api.md or
wandb-sdk-wire.md it comes from, so a sandbox change that drifts from W&B fails here.

Facts the reference marks [UNCERTAIN] are asserted as the sandbox's documented choice and
say so in their comment. A disagreement the sandbox cannot fix cheaply is an
`xfail(strict=True)` naming it (none at the time of writing). Per-operation detail lives
next to each area's own tests (tests/sandbox/); each file here names them."""
