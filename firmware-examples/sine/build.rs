//! Embeds the firmware bundle (`$MOTE_FIRMWARE_BUNDLE`, else `bundle/`: the model of
//! examples/sine.toml) and the host executor's outputs for it; see mote-bundle.

fn main() {
    mote_bundle::build::embed();
}
