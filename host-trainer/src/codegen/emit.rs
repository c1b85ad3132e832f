//! What the generated module accumulates while the operators are emitted (imports,
//! constant tensors and multiplier tables with their names), and the formatting of
//! literals.

use super::unsupported;
use crate::Result;
use mote_core::dtype::DType;
use mote_core::format::{ModelView, Storage, TensorInfo};
use mote_core::quant::QuantizedMultiplier;
use std::collections::{BTreeMap, BTreeSet};

/// Names the generated module defines itself (constants may not take them).
const RESERVED: [&str; 8] = [
    "ARENA_BYTES",
    "INPUT_LEN",
    "OUTPUT_LEN",
    "INPUT_SCALE",
    "INPUT_ZERO_POINT",
    "OUTPUT_SCALE",
    "OUTPUT_ZERO_POINT",
    "INPUT_TRANSFORM",
];

/// The module being generated.
pub(super) struct Module<'v, 'a> {
    pub(super) view: &'v ModelView<'a>,
    uses: BTreeSet<&'static str>,
    /// Constant tensor → its `static`'s name.
    constants: BTreeMap<usize, String>,
    names: BTreeSet<String>,
    /// `(name, doc comment, values)` of each operator's multiplier table.
    pub(super) multipliers: Vec<(String, String, Vec<QuantizedMultiplier>)>,
    /// Whether the module needs its `qm` helper.
    pub(super) needs_qm: bool,
}

impl<'v, 'a> Module<'v, 'a> {
    pub(super) fn new(view: &'v ModelView<'a>) -> Self {
        let mut uses = BTreeSet::new();
        for u in [
            "mote_core::Result",
            "mote_core::quant::QuantParams",
            "mote_kernels::exec::ArenaSplit",
        ] {
            uses.insert(u);
        }
        Self {
            view,
            uses,
            constants: BTreeMap::new(),
            names: RESERVED.iter().map(|s| s.to_string()).collect(),
            multipliers: Vec::new(),
            needs_qm: false,
        }
    }

    /// Records an import.
    pub(super) fn uses(&mut self, path: &'static str) {
        self.uses.insert(path);
    }

    /// The `use` lines, one per module, items merged as rustfmt orders them.
    pub(super) fn use_lines(&self) -> Vec<String> {
        let mut by_module: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for u in &self.uses {
            let (module, item) = match u.split_once(" as ") {
                Some(_) => (*u, ""),
                None => u.rsplit_once("::").unwrap_or((u, "")),
            };
            by_module.entry(module).or_default().push(item);
        }
        for items in by_module.values_mut() {
            items.sort_by_key(|s| version_key(s));
        }
        by_module
            .into_iter()
            .map(|(module, items)| match items.as_slice() {
                [""] => format!("use {module};"),
                [one] => format!("use {module}::{one};"),
                _ => format!("use {module}::{{{}}};", items.join(", ")),
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The `static` holding constant tensor `i`, named `name` when it is new.
    fn constant(&mut self, i: usize, name: String) -> String {
        if let Some(n) = self.constants.get(&i) {
            return n.clone();
        }
        let name = self.fresh(&name, i);
        self.constants.insert(i, name.clone());
        name
    }

    /// The constants referenced, by tensor index.
    pub(super) fn constants(&self) -> impl Iterator<Item = (usize, &String)> {
        self.constants.iter().map(|(i, n)| (*i, n))
    }

    /// Records that multipliers are built in place (with the `qm` helper).
    pub(super) fn want_qm(&mut self) {
        self.uses("mote_core::quant::QuantizedMultiplier");
        self.needs_qm = true;
    }

    /// Adds operator `op`'s multiplier table, returning its name.
    pub(super) fn multiplier_table(
        &mut self,
        op: usize,
        comment: String,
        ms: &[QuantizedMultiplier],
    ) -> String {
        self.want_qm();
        let name = self.fresh(&format!("OP{op}_MULTIPLIERS"), op);
        self.multipliers.push((name.clone(), comment, ms.to_vec()));
        name
    }

    /// `base`, or `base_<i>` when taken.
    fn fresh(&mut self, base: &str, i: usize) -> String {
        let mut name = base.to_string();
        if self.names.contains(&name) {
            name = format!("{base}_{i}");
        }
        while self.names.contains(&name) {
            name.push('_');
        }
        self.names.insert(name.clone());
        name
    }

    /// An expression of type `&[T]` for input tensor `i` of the operator whose arena
    /// split is `rest`, checking it holds `dtype`: a constant's `static` (named `name`
    /// if it is the first use), or its arena region (int8 or int16).
    pub(super) fn operand(&mut self, i: usize, dtype: DType, name: String) -> Result<String> {
        let t = self.view.tensor(i)?;
        if t.dtype != dtype {
            return Err(unsupported(format!(
                "tensor {i} `{}` is {}, {} expected",
                t.name,
                t.dtype.name(),
                dtype.name()
            )));
        }
        match t.storage {
            Storage::Constant => Ok(format!("&{}", self.constant(i, name))),
            Storage::Arena => match t.dtype {
                DType::I8 => {
                    self.uses("mote_kernels::exec::i8s");
                    Ok(format!("i8s(rest.region({}, {})?)", t.offset, t.bytes))
                }
                DType::I16 => {
                    self.uses("mote_kernels::exec::i16s");
                    Ok(format!("i16s(rest.region({}, {})?)?", t.offset, t.bytes))
                }
                d => Err(unsupported(format!(
                    "tensor {i} `{}`: {} data in the arena",
                    t.name,
                    d.name()
                ))),
            },
        }
    }

    /// `&BIAS[..]` for an optional constant bias of `dtype` (named `name`).
    pub(super) fn bias(
        &mut self,
        i: Option<usize>,
        dtype: DType,
        name: String,
    ) -> Result<Option<String>> {
        let Some(i) = i else { return Ok(None) };
        let t = self.view.tensor(i)?;
        if t.storage != Storage::Constant {
            return Err(unsupported(format!(
                "bias tensor {i} `{}` is not a constant",
                t.name
            )));
        }
        let e = self.operand(i, dtype, name)?;
        Ok(Some(format!("{e}[..]")))
    }

    /// The mutable view of the output region `out` as `dtype`.
    pub(super) fn output(&mut self, t: &TensorInfo<'_>) -> Result<&'static str> {
        match t.dtype {
            DType::I8 => {
                self.uses("mote_kernels::exec::i8s_mut");
                Ok("i8s_mut(out)")
            }
            DType::I16 => {
                self.uses("mote_kernels::exec::i16s_mut");
                Ok("i16s_mut(out)?")
            }
            d => Err(unsupported(format!(
                "output tensor `{}` is {}",
                t.name,
                d.name()
            ))),
        }
    }
}

/// An `f32` literal that reads back to the same bits (Rust's shortest round-trip form,
/// with a decimal point so it is a float literal).
pub(super) fn f32_lit(v: f32) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The elements of constant data `bytes` of `dtype`, as literals.
pub(super) fn elements(dtype: DType, bytes: &[u8]) -> Result<Vec<String>> {
    let size = dtype.size();
    if !bytes.len().is_multiple_of(size) {
        return Err(unsupported("constant data of a partial element"));
    }
    Ok(bytes
        .chunks_exact(size)
        .map(|b| match dtype {
            DType::I8 => (b[0] as i8).to_string(),
            DType::U8 => b[0].to_string(),
            DType::I16 => i16::from_le_bytes([b[0], b[1]]).to_string(),
            DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string(),
            DType::F32 => f32_lit(f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            DType::I64 => {
                i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]).to_string()
            }
        })
        .collect())
}

/// `head[a, b, …]` as rustfmt lays it out: on one line when it fits in 100 columns,
/// else one item a line — or, for `simple` items (number literals of at most 10
/// characters), as many a line as fit, indented by four spaces.
pub(super) fn array(head: &str, items: &[String], simple: bool) -> String {
    let one = format!("{head}[{}]", items.join(", "));
    if one.len() < 100 {
        return one;
    }
    let mut s = format!("{head}[\n");
    // rustfmt's `short_array_element_width_threshold`: longer items go one a line.
    if !simple || items.iter().any(|it| it.len() > 10) {
        for it in items {
            s.push_str("    ");
            s.push_str(it);
            s.push_str(",\n");
        }
        s.push(']');
        return s;
    }
    let mut line = String::new();
    for it in items {
        if !line.is_empty() && 4 + line.len() + it.len() + 2 > 100 {
            s.push_str("    ");
            s.push_str(line.trim_end());
            s.push('\n');
            line.clear();
        }
        line.push_str(it);
        line.push_str(", ");
    }
    if !line.is_empty() {
        s.push_str("    ");
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s.push(']');
    s
}

/// rustfmt's (2024 style) order of `use` items: version sorting, where runs of digits
/// compare as numbers (`int8` before `int16`).
fn version_key(s: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = u64::from(c as u8 - b'0');
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n = n
                    .saturating_mul(10)
                    .saturating_add(u64::from(*d as u8 - b'0'));
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(f32_lit(1.0), "1.0");
        assert_eq!(f32_lit(0.1), "0.1");
        assert_eq!(f32_lit(1e-7).parse::<f32>().unwrap(), 1e-7);
        assert_eq!(array("x = ", &["1".into(), "2".into()], true), "x = [1, 2]");
        let long: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        assert!(array("x = ", &long, true).starts_with("x = [\n    0, 1, 2,"));
        assert!(array("x = ", &long, false).starts_with("x = [\n    0,\n    1,\n"));
        let mut v = vec!["int16", "int8", "Int", "i8s"];
        v.sort_by_key(|s| version_key(s));
        assert_eq!(v, ["Int", "i8s", "int8", "int16"]);
    }
}
