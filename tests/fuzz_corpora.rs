//! Replays every fuzz corpus (`fuzz/corpus/<target>/`) and every input that
//! once crashed a target (`fuzz/regressions/<target>/`) through the same
//! entry points the fuzz targets call, so what the fuzzers found stays
//! checked by `cargo test` on stable. `fuzz/run.sh` runs the fuzzers.

use std::path::Path;

type Entry = fn(&[u8]);

const TARGETS: &[(&str, Entry)] = &[
    ("router", causeway_gateway::fuzz::router),
    ("templates", causeway_gateway::fuzz::templates),
    ("function_events", causeway_gateway::fuzz::function_events),
    ("websocket_frames", causeway_gateway::fuzz::websocket_frames),
    ("signatures", causeway_sign::fuzz::signatures),
    ("management_json", causeway_model::fuzz::management_json),
    ("openapi_import", causeway_model::fuzz::openapi_import),
];

fn replay(dir: &Path, entry: Entry) -> usize {
    let Ok(files) = std::fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for file in files.flatten() {
        let data = std::fs::read(file.path()).unwrap_or_else(|e| panic!("{}: {e}", file.path().display()));
        let outcome = std::panic::catch_unwind(|| entry(&data));
        assert!(outcome.is_ok(), "{} fails its target", file.path().display());
        n += 1;
    }
    n
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (target, entry) in TARGETS {
        let seeds = replay(&root.join("corpus").join(target), *entry);
        assert!(seeds > 0, "no corpus for {target}");
        replay(&root.join("regressions").join(target), *entry);
    }
}
