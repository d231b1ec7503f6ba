//! The model cards quote the generated evaluation files, never hand-copied
//! figures: each card's int8 row must equal its `models/<name>.eval.json`
//! (`scripts/eval-models.sh`) rounded to four places, so a retrained blob
//! with a stale card fails here.

use std::path::PathBuf;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// The numeric cells of the first table row of `card` starting with `row`.
fn row_numbers(card: &str, row: &str) -> Vec<String> {
    let line = card
        .lines()
        .find(|l| l.starts_with(row))
        .unwrap_or_else(|| panic!("no row starting {row:?}"));
    line.split('|')
        .skip(2)
        .map(|c| c.trim().trim_matches('*').to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn eval(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(models().join(format!("{name}.eval.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fmt(v: &serde_json::Value, key: &str) -> String {
    format!("{:.4}", v[key].as_f64().unwrap_or_else(|| panic!("{key}")))
}

#[test]
fn cards_quote_their_eval_files() {
    let default = eval("default");
    let cart = eval("cart");
    assert_eq!(default["clips"], 40);
    assert_eq!(cart["clips"], 40);

    let card = std::fs::read_to_string(models().join("default.md")).unwrap();
    let want: Vec<String> = ["pixel_accuracy", "dice", "phi_leak", "signal_loss"]
        .iter()
        .map(|k| fmt(&default, k))
        .collect();
    assert_eq!(row_numbers(&card, "| **this model, int8**"), want);

    let card = std::fs::read_to_string(models().join("cart.md")).unwrap();
    let keys = ["pixel_accuracy", "dice", "iou", "phi_leak", "signal_loss"];
    let want: Vec<String> = keys.iter().map(|k| fmt(&cart, k)).collect();
    assert_eq!(row_numbers(&card, "| **this model, int8**"), want);
    let want: Vec<String> = keys.iter().map(|k| fmt(&default, k)).collect();
    assert_eq!(row_numbers(&card, "| `models/default.snmk`, int8"), want);
}
