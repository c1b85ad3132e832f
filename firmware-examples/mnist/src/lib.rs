//! The exported MNIST model and test digits the `mnist` and `finetune` firmware embed
//! (see mote-bundle): the `.mote` file, the generated Rust module, quantised test inputs,
//! their labels, and the host executor's outputs for them.

#![no_std]

mote_bundle::embed!();

pub use mote_bundle::argmax;
