"""The lowest layer: what every other package may import (standard library only).

`common.cli`: the --help style and the one user-error exit of every CLI;
`common.files`: the one atomic file write.
"""
