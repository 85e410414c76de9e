//! Build script of each deployable (`build = "../hot_code_first.rs"`): a release build links the
//! functions listed in the crate's `hot-code.txt` first, next to each other.
//!
//! Why: the kernel maps a binary's code 64 KiB around every page a process touches (fault-around),
//! and a deployable touches code all over its `.text` while it starts, so nearly the whole binary
//! counted in its RSS although it runs a third of it. Packed together, the code it runs at rest
//! fills few 64 KiB windows; the rest is mapped only if a rarer path runs it. The list is written
//! by `e2e/bench/hot-code.sh` from a profile of `e2e/bench/memory.sh --quick`; a symbol it names
//! that no longer exists is skipped, so a stale list costs memory, never a build.
//!
//! Only where LLD links (rustc's default for x86_64-unknown-linux-gnu since 1.90; mold reads the
//! same option): `HOT_CODE_FIRST=off` builds without the list, for a new profile or another linker.
//!
//! Release builds there also pack their relative relocations (`-z pack-relative-relocs`, DT_RELR):
//! a position-independent binary carries ~24,000 of them (the addresses in vtables and constant
//! tables), 24 bytes each in `.rela.dyn`, which the loader reads at start and which then stayed
//! resident (0.55 MiB in the cluster controller); packed they take 7 KB. Needs glibc 2.36 or later
//! to run (Debian 12, the images' distroless base, has it); the binary stays position-independent.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-env-changed=HOT_CODE_FIRST");
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts");
    let crate_dir = PathBuf::from(manifest_dir);
    let list = crate_dir.join("hot-code.txt");
    // A missing file named here would make cargo run this script, and so build the crate again,
    // on every build; without a list the crate's directory is watched, so one written is seen.
    let have_list = list.is_file();
    let watched = if have_list { &list } else { &crate_dir };
    println!("cargo::rerun-if-changed={}", watched.display());
    let release = env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let lld = env::var("TARGET").is_ok_and(|target| target == "x86_64-unknown-linux-gnu");
    let wanted = env::var("HOT_CODE_FIRST").as_deref() != Ok("off");
    if release && lld && wanted && have_list {
        println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", list.display());
        println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    if release && lld {
        // Not under HOT_CODE_FIRST: it changes no symbol's place.
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
