//! A 1-bit canvas and the integer drawing primitives the renderer needs: lines (Bresenham),
//! ellipse outlines and filled discs. Drawing off the canvas is clipped, never a panic.

/// A 1-bit picture, row-major, top row first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Canvas {
    width: i32,
    height: i32,
    bits: Vec<bool>,
}

/// How far off the canvas a coordinate may lie before it is clamped: keeps the work of drawing a
/// hostile model bounded.
const MARGIN: i32 = 64;

impl Canvas {
    /// A blank canvas.
    pub(crate) fn new(width: u16, height: u16) -> Self {
        let (width, height) = (i32::from(width), i32::from(height));
        Self {
            width,
            height,
            bits: vec![false; (width * height) as usize],
        }
    }

    /// The pixels, row-major.
    pub(crate) fn bits(&self) -> &[bool] {
        &self.bits
    }

    /// Sets one pixel, if it is on the canvas.
    pub(crate) fn set(&mut self, x: i32, y: i32) {
        if (0..self.width).contains(&x) && (0..self.height).contains(&y) {
            self.bits[(y * self.width + x) as usize] = true;
        }
    }

    fn clamp(&self, x: i32, y: i32) -> (i32, i32) {
        (
            x.clamp(-MARGIN, self.width + MARGIN),
            y.clamp(-MARGIN, self.height + MARGIN),
        )
    }

    /// A straight line between two points, both ends included (Bresenham).
    pub(crate) fn line(&mut self, from: (i32, i32), to: (i32, i32)) {
        let (mut x, mut y) = self.clamp(from.0, from.1);
        let (x1, y1) = self.clamp(to.0, to.1);
        let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
        let (sx, sy) = ((x1 - x).signum(), (y1 - y).signum());
        let mut err = dx + dy;
        loop {
            self.set(x, y);
            if x == x1 && y == y1 {
                return;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// An open polyline through `points`.
    pub(crate) fn polyline(&mut self, points: &[(i32, i32)]) {
        for pair in points.windows(2) {
            self.line(pair[0], pair[1]);
        }
        if let [only] = points {
            self.set(only.0, only.1);
        }
    }

    /// The outline of an axis-aligned ellipse with radii `rx` and `ry` around `c`.
    pub(crate) fn ellipse(&mut self, c: (i32, i32), rx: i32, ry: i32) {
        let (rx, ry) = (rx.clamp(0, MARGIN), ry.clamp(0, MARGIN));
        let mut top = Vec::with_capacity(2 * rx as usize + 1);
        let mut bottom = Vec::with_capacity(top.capacity());
        for dx in -rx..=rx {
            let dy = half_height(rx, ry, dx);
            top.push((c.0 + dx, c.1 - dy));
            bottom.push((c.0 + dx, c.1 + dy));
        }
        self.polyline(&top);
        self.polyline(&bottom);
    }

    /// A filled disc of radius `r` around `c`.
    pub(crate) fn disc(&mut self, c: (i32, i32), r: i32) {
        let r = r.clamp(0, MARGIN);
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r + r {
                    self.set(c.0 + dx, c.1 + dy);
                }
            }
        }
    }
}

/// The ellipse's half height at `dx` from its centre: `ry·√(1 − dx²/rx²)`, rounded down.
fn half_height(rx: i32, ry: i32, dx: i32) -> i32 {
    if rx == 0 {
        return ry;
    }
    let (rx, ry, dx) = (rx as u32, ry as u32, dx.unsigned_abs());
    let inside = ry * ry * (rx * rx - dx * dx) / (rx * rx);
    inside.isqrt() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(c: &Canvas) -> usize {
        c.bits().iter().filter(|b| **b).count()
    }

    #[test]
    fn lines_include_both_ends_and_clip() {
        let mut c = Canvas::new(8, 8);
        c.line((0, 0), (7, 7));
        assert_eq!(count(&c), 8);
        let mut c = Canvas::new(8, 8);
        c.line((-1_000_000, 3), (1_000_000, 3));
        assert_eq!(count(&c), 8);
    }

    #[test]
    fn ellipse_and_disc_are_symmetric() {
        let mut c = Canvas::new(16, 16);
        c.ellipse((8, 8), 4, 2);
        let bit = |x: i32, y: i32| c.bits()[(y * 16 + x) as usize];
        for y in 1..16 {
            for dx in 0..8 {
                assert_eq!(bit(8 + dx, y), bit(8 - dx, y), "({dx}, {y})");
                assert_eq!(bit(8 + dx, y), bit(8 + dx, 16 - y), "({dx}, {y})");
            }
        }
        assert!(bit(4, 8) && bit(12, 8) && bit(8, 6) && bit(8, 10));
        let mut d = Canvas::new(5, 5);
        d.disc((2, 2), 1);
        assert_eq!(count(&d), 9);
    }
}
