//! The gateway's modules depend on each other one way only. This test reads
//! every source file's `crate::` and `super::` paths and fails on an import
//! cycle between two modules (files), or on a folder that reaches up to a
//! folder listed before it in [`LAYERS`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The top-level folders, each depending only on those after it.
const LAYERS: &[&str] =
    &["fuzz", "node", "debug", "listen", "pipeline", "config", "routing", "backend", "stages", "functions", "upstream", "http", "observe"];

/// Every module of the crate (`a::b` for `src/a/b.rs` or `src/a/b/mod.rs`) with its source.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if path.is_dir() {
                walk(&path, &[prefix, &[name]].concat(), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match name.as_str() {
                    "mod" | "lib" => prefix.join("::"),
                    _ => [prefix, &[name]].concat().join("::"),
                };
                out.insert(module, std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &[], &mut out);
    out
}

/// The code without comments, string literals and `#[cfg(test)]` modules:
/// tests may reach anywhere.
fn code(source: &str) -> String {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    let mut out = String::with_capacity(source.len());
    for line in source.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut in_string = false;
        let mut previous = ' ';
        for c in line.chars() {
            if c == '"' && previous != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            previous = c;
        }
        out.push('\n');
    }
    out
}

/// Expands a use tree (`a::{b, c::{d, self}}`) into its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else { return vec![tree.to_string()] };
    let (head, rest) = tree.split_at(open);
    let inner = rest.trim_start_matches('{').trim_end().trim_end_matches('}');
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| if e == "self" { head.trim_end_matches("::").to_string() } else { format!("{head}{e}") }))
        .collect()
}

/// The modules `module`'s code names, by `crate::` paths (in `use` items and
/// inline) and `super::` paths, each resolved to the deepest module it names.
fn dependencies(module: &str, source: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code(source);
    let mut paths = Vec::new();
    // `use` items, braces and all.
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let item = &rest[at + 4..];
        let end = item.find(';').unwrap_or(item.len());
        // `use a::b as c;` names `a::b`.
        let tree: String = item[..end].split(" as ").next().unwrap_or_default().split_whitespace().collect();
        paths.extend(expand(&tree));
        rest = &item[end..];
    }
    // Inline paths.
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    paths.extend(code.split(|c: char| !word(c)).filter(|t| t.contains("::")).map(String::from));
    let join = |base: &str, p: &str| if base.is_empty() { p.to_string() } else { format!("{base}::{p}") };
    // `self` of `a/b/mod.rs` (module `a::b`) is `a::b`, of `a/b/c.rs` (module `a::b::c`) `a::b::c`;
    // `super` is the parent module either way.
    let here = module.to_string();
    let mut out = BTreeSet::new();
    for path in paths {
        let absolute = if let Some(p) = path.strip_prefix("crate::") {
            p.to_string()
        } else if path.starts_with("super::") {
            // Each `super::` is one module up.
            let (mut base, mut rest) = (parent_of(module), path.as_str());
            while let Some(r) = rest.strip_prefix("super::") {
                rest = r;
                if r.starts_with("super::") {
                    base = parent_of(&base);
                }
            }
            join(&base, rest)
        } else if let Some(p) = path.strip_prefix("self::") {
            join(&here, p)
        } else if known.contains(&join(&here, path.split("::").next().unwrap_or_default())) && is_folder(module) {
            // A child module, named from its folder's `mod.rs`.
            join(&here, &path)
        } else {
            continue;
        };
        let segments: Vec<&str> = absolute.split("::").collect();
        let target = (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| known.contains(m));
        // The crate root only declares the modules.
        if let Some(target) = target
            && target != module
            && !target.is_empty()
        {
            out.insert(target);
        }
    }
    out
}

fn parent_of(module: &str) -> String {
    module.rsplit_once("::").map_or(String::new(), |(p, _)| p.to_string())
}

/// Whether the module is a folder's `mod.rs`.
fn is_folder(module: &str) -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module.replace("::", "/")).is_dir()
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules.iter().map(|(m, source)| (m.clone(), dependencies(m, source, &known))).collect()
}

/// A cycle through `start`, if there is one.
fn cycle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn visit(graph: &BTreeMap<String, BTreeSet<String>>, at: &str, start: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if visit(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    visit(graph, start, start, &mut path, &mut BTreeSet::new()).then(|| {
        path.push(start.to_string());
        path
    })
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let graph = graph();
    assert!(graph.len() > 40, "the crate's modules were found: {:?}", graph.keys());
    assert!(graph["pipeline"].contains("stages::params"), "dependencies are read: {:?}", graph["pipeline"]);
    let cycles: Vec<String> = graph.keys().filter_map(|m| cycle_from(&graph, m)).map(|c| c.join(" -> ")).collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn folders_depend_only_on_the_folders_after_them() {
    let rank = |module: &str| LAYERS.iter().position(|l| *l == module.split("::").next().unwrap_or_default());
    let mut wrong = Vec::new();
    for (module, deps) in graph() {
        let Some(from) = rank(&module) else { continue };
        for dep in deps {
            match rank(&dep) {
                Some(to) if to < from => wrong.push(format!("{module} -> {dep}")),
                Some(_) => {}
                None => wrong.push(format!("{module} -> {dep} (not in LAYERS)")),
            }
        }
    }
    let unlisted: Vec<String> = graph().keys().filter(|m| !m.is_empty() && m.as_str() != "layering" && rank(m).is_none()).cloned().collect();
    assert!(unlisted.is_empty(), "modules outside LAYERS: {unlisted:?}");
    assert!(wrong.is_empty(), "imports against the layer order {LAYERS:?}:\n{}", wrong.join("\n"));
}

#[test]
fn the_reader_finds_cycles_and_use_trees() {
    assert_eq!(expand("crate::a::{b, c::{d, self}}"), ["crate::a::b", "crate::a::c::d", "crate::a::c"]);
    let known: BTreeSet<String> = ["a", "a::b", "c"].into_iter().map(String::from).collect();
    let deps = dependencies("c", "use crate::a::b::Thing;\nfn f() { crate::a::helper(); } // crate::c::x\nconst S: &str = \"crate::c\";\n", &known);
    assert_eq!(deps, ["a", "a::b"].into_iter().map(String::from).collect());
    let deps = dependencies("c", "use crate::a::b as renamed;\n", &known);
    assert_eq!(deps, ["a::b"].into_iter().map(String::from).collect(), "a renamed import names its module");
    let deep: BTreeSet<String> = ["x", "x::q", "x::y", "x::y::z"].into_iter().map(String::from).collect();
    assert_eq!(dependencies("x::y::z", "use super::super::q;\n", &deep), ["x::q"].into_iter().map(String::from).collect());
    assert_eq!(dependencies("x::y::z", "use super::Thing;\n", &deep), ["x::y"].into_iter().map(String::from).collect());
    let g: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"]), ("d", vec!["a"])].into_iter().map(|(m, d)| (m.to_string(), d.into_iter().map(String::from).collect())).collect();
    assert_eq!(cycle_from(&g, "a").unwrap(), ["a", "b", "c", "a"]);
    assert!(cycle_from(&g, "d").is_none());
}
