# Sourced by the scripts here: `sonomask_bin [debug]` prints the path of the
# sonomask binary they run. $SONOMASK_BIN (made absolute) when set: a copy,
# when several checkouts share one target directory and its
# release/sonomask; otherwise the workspace's binary, built first (release
# unless `debug` is asked for).
sonomask_bin() {
    if [ -n "${SONOMASK_BIN:-}" ]; then
        realpath "$SONOMASK_BIN"
        return
    fi
    local profile="${1:-release}" flag=--release
    if [ "$profile" = debug ]; then
        flag=
    fi
    # `|| return`: errexit does not reach into the caller's $(...).
    # shellcheck disable=SC2086
    cargo build $flag -q -p sonomask >&2 || return
    local target
    target="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')" || return
    [ -n "$target" ] || return 1
    echo "$target/$profile/sonomask"
}
