#!/usr/bin/env bash
# Installs what building and testing mote needs, and only what is missing. Idempotent:
# each step prints one line saying what it did or that it was already there.
#
#   scripts/setup.sh             everything (what scripts/test.sh needs)
#   scripts/setup.sh --firmware  only what running the firmware needs (scripts/demo.sh):
#                                Cortex-M targets, QEMU system emulator, defmt-print
#
# Written for Debian bookworm (and similar Debian/Ubuntu machines). Installs:
#   - rustup targets (thumbv7em-none-eabihf, thumbv8m.main-none-eabihf,
#     armv7-unknown-linux-gnueabihf, aarch64-unknown-linux-gnu) and rustfmt, clippy;
#   - apt, when root (or with password-less sudo): qemu-user and the armhf / arm64 cross
#     linkers with their C libraries, for the property tests under QEMU user mode;
#   - qemu-system-arm, downloaded and extracted into the cache (no root needed), unless
#     one is already on PATH: installing Debian's package would remove a newer
#     preinstalled qemu-utils on some machines;
#   - defmt-print, built by `cargo install` into the cache.
#
# Cache: ${MOTE_CACHE:-$HOME/.cache/mote}. Sourcing this file works too (it then only
# defines functions and variables; call `mote_setup [--firmware]`).

mote_setup_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOTE_CACHE="${MOTE_CACHE:-$HOME/.cache/mote}"

# Library packages the extracted QEMU needs besides the base system. The walk over the
# package's dependencies below adds whatever else a given machine lacks.
mote_qemu_packages=(qemu-system-arm libfdt1 libcapstone4 libpmem1 librdmacm1 libibverbs1
    libslirp0 libvdeplug2 libnl-3-200 libnl-route-3-200 libndctl6 libdaxctl1)
mote_apt_packages=(qemu-user gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
mote_rust_targets=(thumbv7em-none-eabihf thumbv8m.main-none-eabihf
    armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu)
mote_apt_updated=0

mote_say() { printf 'setup: %s\n' "$*"; }
mote_die() { printf 'setup: error: %s\n' "$*" >&2; return 1; }

# Runs a command quietly; on failure shows its output and fails.
mote_quiet() {
    local log
    log="$(mktemp)"
    if "$@" >"$log" 2>&1; then
        rm -f "$log"
    else
        local rc=$?
        cat "$log" >&2
        rm -f "$log"
        mote_die "failed (exit $rc): $*"
        return "$rc"
    fi
}

# Prints the command prefix that gives root ("" when root), or fails.
mote_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        echo ""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        echo "sudo -n"
    else
        return 1
    fi
}

mote_pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

mote_apt_update_once() {
    [ "$mote_apt_updated" -eq 1 ] && return 0
    local sudo
    sudo="$(mote_as_root)" || return 1
    mote_quiet $sudo apt-get update -qq || return 1
    mote_apt_updated=1
}

# Runs in a subshell: the cd does not leak into a shell that sourced this file.
mote_setup_rust() (
    command -v rustup >/dev/null 2>&1 ||
        { mote_die "rustup not found: install Rust from https://rustup.rs first"; return 1; }
    # Inside the repository, rust-toolchain.toml picks the toolchain (and lists the
    # targets and components rustup installs with it).
    cd "$mote_setup_root" || return 1
    if rustc --version >/dev/null 2>&1; then
        :
    elif mote_quiet rustup toolchain install || mote_quiet rustup show; then
        mote_say "rust toolchain: installed $(rustc --version)"
    else
        mote_die "could not install the toolchain named in rust-toolchain.toml"
        return 1
    fi
    local want=("$@") have missing=() t
    have="$(rustup target list --installed 2>/dev/null)" || have=""
    for t in "${want[@]}"; do
        grep -qx "$t" <<<"$have" || missing+=("$t")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        mote_say "rust targets: already there (${want[*]})"
    else
        mote_quiet rustup target add "${missing[@]}" || return 1
        mote_say "rust targets: added ${missing[*]}"
    fi
    if [ "${MOTE_SETUP_COMPONENTS:-1}" = 1 ]; then
        local comps c missing_c=()
        comps="$(rustup component list --installed 2>/dev/null)" || comps=""
        for c in rustfmt clippy; do
            grep -q "^$c" <<<"$comps" || missing_c+=("$c")
        done
        if [ "${#missing_c[@]}" -eq 0 ]; then
            mote_say "rust components: already there (rustfmt clippy)"
        else
            mote_quiet rustup component add "${missing_c[@]}" || return 1
            mote_say "rust components: added ${missing_c[*]}"
        fi
    fi
)

# qemu-user and the cross linkers, for `cargo test --target armv7-…/aarch64-…`.
mote_setup_apt() {
    local missing=() p
    for p in "${mote_apt_packages[@]}"; do
        mote_pkg_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        mote_say "qemu-user and cross linkers: already there"
        return 0
    fi
    # Another installation (say, qemu-user-static or a distribution's cross toolchain)
    # is fine too.
    if command -v qemu-arm >/dev/null && command -v qemu-aarch64 >/dev/null &&
        command -v arm-linux-gnueabihf-gcc >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null &&
        [ -e /usr/arm-linux-gnueabihf/lib/libc.so.6 ] && [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ]; then
        mote_say "qemu-user and cross linkers: already there (not from apt)"
        return 0
    fi
    local sudo
    sudo="$(mote_as_root)" || {
        mote_die "needs root to install: apt-get install --no-install-recommends ${missing[*]}"
        return 1
    }
    mote_apt_update_once || return 1
    mote_quiet $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
    mote_say "qemu-user and cross linkers: installed ${missing[*]}"
}

# Prints the packages qemu-system-arm needs that this machine lacks (libraries only,
# following dependencies of dependencies), one per line.
mote_qemu_missing_libs() {
    local installed todo=(qemu-system-arm) seen=" " next d
    installed=" $(dpkg-query -W -f='${Package} ${Status}\n' 2>/dev/null |
        awk '$NF == "installed" { sub(/:.*/, "", $1); printf "%s ", $1 }')"
    while [ "${#todo[@]}" -gt 0 ]; do
        next=()
        for d in $(apt-cache depends --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances "${todo[@]}" 2>/dev/null |
            awk '/^ *\|?Depends: [^<]/ {print $2}' | sort -u); do
            case "$seen" in *" $d "*) continue ;; esac
            seen="$seen$d "
            case "$d" in lib*) ;; *) continue ;; esac
            case "$installed" in *" $d "*) continue ;; esac
            echo "$d"
            next+=("$d")
        done
        todo=("${next[@]}")
    done
}

# Checks that the extracted QEMU finds all its libraries; prints the missing ones.
mote_qemu_check() {
    local root="$1" missing
    missing="$(LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" \
        ldd "$root/usr/bin/qemu-system-arm" 2>&1 | grep 'not found')" || true
    if [ -n "$missing" ]; then
        printf '%s\n' "$missing" >&2
        return 1
    fi
    LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" \
        "$root/usr/bin/qemu-system-arm" -machine help 2>/dev/null | grep -q mps3-an547
}

# apt-get download into the current folder; when the machine's package lists are missing
# and we cannot refresh them (not root), uses private lists in the cache.
mote_apt_download() {
    if apt-get download -qq "$@" >/dev/null 2>&1; then
        return 0
    fi
    if mote_as_root >/dev/null; then
        mote_apt_update_once || return 1
        mote_quiet apt-get download -qq "$@"
        return
    fi
    local state="$MOTE_CACHE/apt"
    mkdir -p "$state/lists/partial" "$state/archives/partial"
    local opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state"
        -o "Dir::Cache::archives=$state/archives" -o Debug::NoLocking=1
        -o APT::Sandbox::User="$(id -un)")
    mote_quiet apt-get "${opts[@]}" update -qq || return 1
    mote_quiet apt-get "${opts[@]}" download -qq "$@"
}

mote_setup_qemu_system() {
    if command -v qemu-system-arm >/dev/null 2>&1; then
        # scripts/qemu-run prefers the one on PATH: it must know both boards.
        local machines
        machines="$(qemu-system-arm -machine help 2>/dev/null)" || machines=""
        if ! grep -q mps2-an386 <<<"$machines" || ! grep -q mps3-an547 <<<"$machines"; then
            mote_die "$(command -v qemu-system-arm) ($(qemu-system-arm --version 2>/dev/null | head -n1)) lacks the mps2-an386 or mps3-an547 machine: upgrade it to QEMU 7.2 or newer, or take it off PATH so setup fetches one"
            return 1
        fi
        mote_say "qemu-system-arm: already there ($(command -v qemu-system-arm))"
        return 0
    fi
    local dir="$MOTE_CACHE/qemu" root="$MOTE_CACHE/qemu/root"
    if [ -x "$root/usr/bin/qemu-system-arm" ] && mote_qemu_check "$root" 2>/dev/null; then
        mote_say "qemu-system-arm: already there ($root/usr/bin/qemu-system-arm)"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || {
        mote_die "qemu-system-arm not found and no apt-get to fetch it: install QEMU (7.2 or newer) with mps2-an386 and mps3-an547"
        return 1
    }
    rm -rf "$dir/debs" "$root"
    mkdir -p "$dir/debs" "$root"
    local pkgs
    mapfile -t pkgs < <({ printf '%s\n' "${mote_qemu_packages[@]}"; mote_qemu_missing_libs; } | sort -u)
    (cd "$dir/debs" && mote_apt_download "${pkgs[@]}") || {
        mote_die "could not download ${pkgs[*]}"
        return 1
    }
    local deb
    for deb in "$dir"/debs/*.deb; do
        dpkg-deb -x "$deb" "$root" || { mote_die "could not extract $deb"; return 1; }
    done
    if ! mote_qemu_check "$root"; then
        mote_die "the extracted qemu-system-arm in $root misses the libraries above (or lacks mps3-an547); install qemu-system-arm another way and put it on PATH"
        return 1
    fi
    local version
    version="$(LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" \
        "$root/usr/bin/qemu-system-arm" --version | head -n1)"
    mote_say "qemu-system-arm: downloaded and extracted ${#pkgs[@]} packages into $root ($version)"
}

mote_setup_defmt_print() {
    local bin="$MOTE_CACHE/defmt-print/bin/defmt-print"
    if [ -x "$bin" ]; then
        mote_say "defmt-print: already there ($bin)"
        return 0
    fi
    mote_say "defmt-print: building with cargo install (takes a few minutes, once)"
    # Inside the repository, so rust-toolchain.toml picks the toolchain.
    (cd "$mote_setup_root" && mote_quiet cargo install defmt-print --version '^1' --locked \
        --root "$MOTE_CACHE/defmt-print") || return 1
    mote_say "defmt-print: installed $("$bin" --version 2>/dev/null | head -n1) at $bin"
}

# mote_setup [--firmware]
mote_setup() {
    local only_firmware=0
    case "${1:-}" in
        "") ;;
        --firmware) only_firmware=1 ;;
        *) mote_die "unknown option $1 (use --firmware or nothing)"; return 2 ;;
    esac
    mkdir -p "$MOTE_CACHE" || return 1
    if [ "$only_firmware" = 1 ]; then
        MOTE_SETUP_COMPONENTS=0 mote_setup_rust thumbv7em-none-eabihf thumbv8m.main-none-eabihf || return 1
    else
        mote_setup_rust "${mote_rust_targets[@]}" || return 1
        mote_setup_apt || return 1
    fi
    mote_setup_qemu_system || return 1
    mote_setup_defmt_print || return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    mote_setup "$@"
fi
