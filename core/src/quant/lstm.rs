//! The quantisation limits of the integer LSTM shared by the kernel and the model
//! reader.

/// The smallest and largest `cell_scale_power` of an integer LSTM: the cell state's scale
/// is `2^cell_scale_power`, and the cell's `tanh` shifts by `12 + cell_scale_power`.
/// TFLite's converter gives powers from about −15 up to −9 (TFLite requires at most −9 in
/// its own kernel); anything in this range computes without overflow.
pub const LSTM_CELL_SCALE_POWER_RANGE: (i32, i32) = (-43, 3);
