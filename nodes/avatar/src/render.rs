//! The testbed's avatar renderer: a base avatar model (a face of a few shapes on a 64×64
//! canvas) and one frame of facial points (the rendering data of solution #6 step 8) give one
//! frame, drawn at [`WIDTH`]×[`HEIGHT`] pixels and carried as rows of Braille characters (each
//! 2×4 pixels), the stand-in for a video frame of the rendered avatar. The MF renders in
//! solution #5 step 8 and network-centric solution #6; a UE renders in UE-A or UE-B centric
//! solution #6.
//!
//! Integer maths only, so a frame is the same bytes on every machine and every run. Eyes close
//! as `eyes_open` falls, pupils follow `gaze`, the mouth opens with `mouth_open` and curves with
//! `smile`.

use proto::trace::Note;
use proto::wire::avatar::{FacialPoints, Frame, Model, Mouth};

use crate::assets::CANVAS;

mod canvas;

use canvas::Canvas;

/// Width of a rendered frame, in pixels.
pub const WIDTH: u16 = 48;

/// Height of a rendered frame, in pixels.
pub const HEIGHT: u16 = 48;

/// The facial points a UE sends, one per frame: neutral; smiling with the mouth open; a half
/// smile looking right. (A wink, one eye shut, is not expressible: the points carry one
/// `eyes_open` for both eyes.)
pub fn script() -> Vec<FacialPoints> {
    vec![
        FacialPoints {
            eyes_open: 100,
            mouth_open: 0,
            smile: 0,
            gaze: 0,
        },
        FacialPoints {
            eyes_open: 90,
            mouth_open: 70,
            smile: 90,
            gaze: 0,
        },
        FacialPoints {
            eyes_open: 100,
            mouth_open: 0,
            smile: 40,
            gaze: 100,
        },
    ]
}

/// Renders `model` with `points` as frame `seq`.
pub fn render(model: &Model, points: &FacialPoints, seq: u32) -> Frame {
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    let mut outline = scaled(&model.outline);
    if let Some(first) = outline.first().copied() {
        outline.push(first);
    }
    canvas.polyline(&outline);
    for stroke in &model.strokes {
        canvas.polyline(&scaled(stroke));
    }
    for eye in &model.eyes {
        draw_eye(&mut canvas, *eye, points);
    }
    draw_mouth(&mut canvas, model.mouth, points);
    Frame {
        avatar_id: model.id.clone(),
        seq,
        width: WIDTH,
        height: HEIGHT,
        rows: braille(canvas.bits(), usize::from(WIDTH), usize::from(HEIGHT)),
    }
}

/// The `Note::Picture` of a frame (`label` for the reader).
pub fn note(label: &str, frame: &Frame) -> Note {
    Note::Picture {
        label: label.to_owned(),
        avatar_id: frame.avatar_id.clone(),
        seq: frame.seq,
        rows: frame.rows.clone(),
    }
}

/// A row-major 1-bit picture as rows of Braille characters (U+2800 plus the dot bits), each
/// character 2 pixels wide and 4 high; a picture whose sides are not multiples of 2 and 4 is
/// padded with blank pixels, and so is a `bits` shorter than `width`×`height`.
pub fn braille(bits: &[bool], width: usize, height: usize) -> Vec<String> {
    // Dot bits by row (0–3) and column (0–1) of the cell (Unicode Braille Patterns).
    const DOTS: [[u32; 2]; 4] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];
    let at = |x: usize, y: usize| x < width && y < height && bits.get(y * width + x) == Some(&true);
    (0..height.div_ceil(4))
        .map(|row| {
            (0..width.div_ceil(2))
                .map(|col| {
                    let mut cell = 0;
                    for (dy, pair) in DOTS.iter().enumerate() {
                        for (dx, bit) in pair.iter().enumerate() {
                            if at(col * 2 + dx, row * 4 + dy) {
                                cell |= bit;
                            }
                        }
                    }
                    // Always a Braille pattern: U+2800 to U+28FF.
                    char::from_u32(0x2800 + cell).unwrap_or(' ')
                })
                .collect()
        })
        .collect()
}

/// A model coordinate (64×64 canvas) on the frame, rounded to the nearest pixel.
fn scale(c: i32) -> i32 {
    let c = c.clamp(-4 * CANVAS, 5 * CANVAS);
    (c * i32::from(WIDTH) + CANVAS / 2).div_euclid(CANVAS)
}

fn scaled(points: &[[i32; 2]]) -> Vec<(i32, i32)> {
    points.iter().map(|[x, y]| (scale(*x), scale(*y))).collect()
}

/// An eye: an ellipse as high as `eyes_open` lets it be (a line when shut), with a pupil that
/// moves with `gaze` when there is room for it.
fn draw_eye(canvas: &mut Canvas, [x, y, r]: [i32; 3], points: &FacialPoints) {
    let c = (scale(x), scale(y));
    let rx = scale(r).max(1);
    let ry = rx * i32::from(points.eyes_open.min(100)) / 100;
    if ry == 0 {
        canvas.line((c.0 - rx, c.1), (c.0 + rx, c.1));
        return;
    }
    canvas.ellipse(c, rx, ry);
    if ry >= 2 {
        let pupil = (rx - 1) / 2;
        let gaze = i32::from(points.gaze.clamp(-100, 100));
        canvas.disc((c.0 + gaze * (rx - pupil) / 100, c.1), pupil);
    }
}

/// The mouth: two lips meeting at the corners, the lower one dropping with `mouth_open`, both
/// bending down in the middle with `smile` (up with a frown). Closed, the lips are one line.
fn draw_mouth(canvas: &mut Canvas, mouth: Mouth, points: &FacialPoints) {
    let (cx, cy) = (scale(mouth.center[0]), scale(mouth.center[1]));
    let w = scale(mouth.half_width).max(1);
    let depth = i32::from(points.smile.clamp(-100, 100)) * w / 150;
    let open = i32::from(points.mouth_open.min(100)) * w / 100;
    let lip = |middle: i32| -> Vec<(i32, i32)> {
        (-w..=w)
            .map(|dx| (cx + dx, cy + middle * (w * w - dx * dx) / (2 * w * w)))
            .collect()
    };
    canvas.polyline(&lip(2 * depth - open));
    if open > 0 {
        canvas.polyline(&lip(2 * depth + open));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Catalogue;

    fn model() -> Model {
        Catalogue::load()
            .unwrap()
            .get("qbranch-agent")
            .unwrap()
            .model
            .clone()
    }

    #[test]
    fn braille_of_a_known_pattern() {
        // One cell, left column full, right column top and bottom: dots 1 2 3 7 and 4 8.
        let bits = [
            true, true, //
            true, false, //
            true, false, //
            true, true, //
        ];
        assert_eq!(braille(&bits, 2, 4), ["\u{28cf}"]);
        assert_eq!(braille(&[false; 8], 2, 4), ["\u{2800}"]);
        // Padding: a 3×5 picture is 2×2 cells.
        let rows = braille(&[true; 15], 3, 5);
        assert_eq!(rows, ["\u{28ff}\u{2847}", "\u{2809}\u{2801}"]);
    }

    #[test]
    fn rendering_is_deterministic_and_sized() {
        let m = model();
        let p = script()[1];
        let frame = render(&m, &p, 2);
        assert_eq!(frame, render(&m, &p, 2));
        assert_eq!((frame.avatar_id.as_str(), frame.seq), ("qbranch-agent", 2));
        assert_eq!((frame.width, frame.height), (WIDTH, HEIGHT));
        assert_eq!(frame.rows.len(), 12);
        assert!(frame.rows.iter().all(|r| r.chars().count() == 24));
    }

    #[test]
    fn eyes_mouth_and_gaze_change_the_picture() {
        let m = model();
        let base = script()[0];
        let shut = FacialPoints {
            eyes_open: 0,
            ..base
        };
        assert_ne!(render(&m, &base, 1).rows, render(&m, &shut, 1).rows);
        let right = FacialPoints { gaze: 100, ..base };
        assert_ne!(render(&m, &base, 1).rows, render(&m, &right, 1).rows);
        let open = FacialPoints {
            mouth_open: 100,
            ..base
        };
        assert_ne!(render(&m, &base, 1).rows, render(&m, &open, 1).rows);
        let smile = FacialPoints { smile: 100, ..base };
        assert_ne!(render(&m, &base, 1).rows, render(&m, &smile, 1).rows);
        let frames: Vec<_> = script().iter().map(|p| render(&m, p, 1).rows).collect();
        assert_ne!(frames[0], frames[1]);
        assert_ne!(frames[1], frames[2]);
        assert_ne!(frames[0], frames[2]);
    }

    #[test]
    fn every_fixture_avatar_renders_and_they_differ() {
        let c = Catalogue::load().unwrap();
        let pictures: Vec<Vec<String>> = c
            .all()
            .map(|a| render(&a.model, &script()[0], 1).rows)
            .collect();
        for rows in &pictures {
            assert!(
                rows.iter()
                    .flat_map(|r| r.chars())
                    .any(|ch| ch != '\u{2800}')
            );
        }
        for (i, a) in pictures.iter().enumerate() {
            for b in &pictures[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn a_hostile_model_is_clipped_not_a_panic() {
        let mut m = model();
        m.outline = vec![[i32::MIN, i32::MAX], [i32::MAX, i32::MIN]];
        m.eyes = vec![[i32::MAX, 0, i32::MAX]];
        m.mouth.half_width = i32::MAX;
        let frame = render(&m, &script()[2], 9);
        assert_eq!(frame.rows.len(), 12);
    }

    #[test]
    fn picture_note_carries_the_frame() {
        let frame = render(&model(), &script()[0], 1);
        match note("render frame 1 of qbranch-agent", &frame) {
            Note::Picture {
                avatar_id,
                seq,
                rows,
                ..
            } => assert_eq!((avatar_id, seq, rows), (frame.avatar_id, 1, frame.rows)),
            other => panic!("{other:?}"),
        }
    }
}
