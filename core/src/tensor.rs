//! Borrowed tensor views: a slice and a [`Shape`] whose element count matches it.
//!
//! Views never own or allocate; reshaping or flattening makes a new view of the same
//! elements. The length check happens once, at construction.

use crate::error::{Result, check_len};
use crate::shape::Shape;

/// A read-only view of `shape.len()` elements in row-major order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    shape: Shape,
}

impl<'a, T> TensorView<'a, T> {
    /// A view of `data` as `shape`; `LengthMismatch` (at `"tensor view"`) when
    /// `data.len() != shape.len()`.
    pub fn new(data: &'a [T], shape: Shape) -> Result<Self> {
        check_len("tensor view", shape.len(), data.len())?;
        Ok(Self { data, shape })
    }

    /// The elements, row-major.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The element at `index` (one coordinate per dimension), or `None` outside.
    pub fn get(&self, index: &[usize]) -> Option<&'a T> {
        self.data.get(self.shape.offset(index)?)
    }

    /// The same elements with other dimensions.
    pub fn reshape(&self, dims: &[usize]) -> Result<Self> {
        Ok(Self {
            data: self.data,
            shape: self.shape.reshape(dims)?,
        })
    }
}

/// A mutable view of `shape.len()` elements in row-major order.
#[derive(Debug, PartialEq)]
pub struct TensorViewMut<'a, T> {
    data: &'a mut [T],
    shape: Shape,
}

impl<'a, T> TensorViewMut<'a, T> {
    /// A mutable view of `data` as `shape`; `LengthMismatch` when the lengths differ.
    pub fn new(data: &'a mut [T], shape: Shape) -> Result<Self> {
        check_len("tensor view", shape.len(), data.len())?;
        Ok(Self { data, shape })
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        self.data
    }

    /// The elements, mutable.
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The element at `index`, mutable, or `None` outside.
    pub fn get_mut(&mut self, index: &[usize]) -> Option<&mut T> {
        let offset = self.shape.offset(index)?;
        self.data.get_mut(offset)
    }

    /// A read-only view of the same elements.
    pub fn as_view(&self) -> TensorView<'_, T> {
        TensorView {
            data: self.data,
            shape: self.shape,
        }
    }

    /// Gives back the slice with the view's lifetime.
    pub fn into_data(self) -> &'a mut [T] {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_check_length() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let s = Shape::new(&[2, 3]).unwrap();
        let v = TensorView::new(&data, s).unwrap();
        assert_eq!(v.get(&[1, 0]), Some(&4.0));
        assert_eq!(v.get(&[2, 0]), None);
        assert_eq!(v.reshape(&[3, 2]).unwrap().get(&[2, 1]), Some(&6.0));
        assert!(TensorView::new(&data[..5], s).is_err());

        let mut buf = [0i8; 6];
        let mut m = TensorViewMut::new(&mut buf, s).unwrap();
        *m.get_mut(&[0, 2]).unwrap() = 7;
        assert_eq!(m.as_view().data()[2], 7);
        assert!(TensorViewMut::new(&mut buf[..4], s).is_err());
    }
}
