# Sourced by the bench scripts: the shared cargo target, and a venv holding the Python peers
# (`bench_venv PACKAGE…` installs whichever of them the venv lacks).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hygge/target}"

bench_venv() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  local missing=()
  for package in "$@"; do
    .venv/bin/python -c "import $package" 2>/dev/null || missing+=("$package")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    .venv/bin/pip install --quiet "${missing[@]}"
  fi
}
