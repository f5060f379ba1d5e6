"""How much one page holds: the limits `build` and the aggregated view share, in a module of
their own so the command line's help and defaults read them without importing pyarrow."""

PAGE_EVENTS = 100_000  # a page holds every event up to this many
DETAIL_EVENTS = 50_000  # past it: at most this many in detail, beside the density
