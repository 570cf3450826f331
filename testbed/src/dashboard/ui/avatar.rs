//! The avatar pane: the avatar as last rendered or shown up to the selected row (solutions 5
//! and 6), drawn from the frame's Braille rows, so stepping through the ladder plays the
//! animation. Drawn under the details when the run has pictures and there is room.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph};

use super::Palette;
use crate::dashboard::app::App;

/// The rows the pane needs for the selected row's picture (its rows and the border), if any.
pub(super) fn height(app: &App) -> Option<u16> {
    let (view, idx) = (app.view()?, app.selected_entry()?);
    let (_, pic) = view.picture_at(idx)?;
    u16::try_from(pic.rows.len() + 2).ok()
}

/// Draws the picture in `area`.
pub(super) fn pane(frame: &mut Frame<'_>, area: Rect, app: &App, p: &Palette) {
    let (Some(view), Some(idx)) = (app.view(), app.selected_entry()) else {
        return;
    };
    let Some((at, pic)) = view.picture_at(idx) else {
        return;
    };
    let when = if at == idx { "this row" } else { "earlier" };
    let title = format!(
        " avatar {} · frame {} · {} ({when}) ",
        pic.avatar_id, pic.seq, pic.node
    );
    let lines: Vec<Line<'_>> = pic
        .rows
        .iter()
        .map(|r| Line::styled(r.clone(), p.pass))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title).title_style(p.title)),
        area,
    );
}
