//! The pictures the pages show, rendered on the server as PNG: a clip's max
//! projection (or one frame), the candidate mask drawn as an outline on it,
//! and the same picture with everything outside the mask dimmed.
//!
//! Why a max projection (of up to [`MAX_PROJECTION_FRAMES`] frames spread
//! over the clip) by default: the sector's speckle moves from frame
//! to frame, so the per-pixel maximum over the clip lights up all of it (a
//! dark far field in one frame is bright in another), while burned-in text
//! stays where it is. One picture then shows whether a mask misses part of
//! the sector or keeps an overlay.
//!
//! Rendering a 640×480 clip costs a few tens of milliseconds (PNG decode of
//! every frame); the page prefetches the next clip's pictures while the
//! person looks at the current one, and a small cache keeps the encoded PNGs
//! so the prefetch and the display share one render.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use image::{GrayImage, Rgb, RgbImage};

use sonomask_data::dataset::{self, Dataset, DatasetError};

/// Colour of the mask outline (a green that stands out on grey speckle and
/// on colour-Doppler red/blue).
pub const OUTLINE: Rgb<u8> = Rgb([40, 255, 140]);
/// Brightness factor (in 1/256) outside the mask in the dimmed view.
pub const DIM: u16 = 64;

/// Which picture of a clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Per-pixel maximum over every frame.
    Max,
    /// One frame.
    Frame(usize),
}

impl Source {
    /// Parses `max` or a frame number.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "max" {
            Some(Source::Max)
        } else {
            s.parse().ok().map(Source::Frame)
        }
    }

    fn key(self) -> String {
        match self {
            Source::Max => "max".into(),
            Source::Frame(i) => i.to_string(),
        }
    }
}

/// The most frames a max projection reads (evenly spread over the clip): a
/// long cine would otherwise cost a decode per frame for every clip shown.
pub const MAX_PROJECTION_FRAMES: usize = 16;

/// Loads the picture `src` of clip `id` as RGB. The clip must be in the
/// manifest and the frame number below its frame count.
pub fn load(data: &Dataset, id: &str, src: Source) -> Result<RgbImage, DatasetError> {
    let entry = data.clip(id)?;
    match src {
        Source::Max => {
            let mut acc: Option<RgbImage> = None;
            for i in sonomask_data::frames::spread_frames(entry.frames, MAX_PROJECTION_FRAMES) {
                let f = load_frame(data, entry, i)?;
                match &mut acc {
                    None => acc = Some(f),
                    Some(a) => max_into(a, &f),
                }
            }
            Ok(acc.unwrap_or_else(|| RgbImage::new(entry.width, entry.height)))
        }
        Source::Frame(i) => {
            if i >= entry.frames {
                return Err(DatasetError::BadImage {
                    path: data.frame_path(id, 0),
                    message: format!("clip {id} has {} frames, no frame {i}", entry.frames),
                });
            }
            load_frame(data, entry, i)
        }
    }
}

/// Frame `i` of a clip as RGB, checked against the manifest size.
fn load_frame(
    data: &Dataset,
    entry: &dataset::ClipEntry,
    i: usize,
) -> Result<RgbImage, DatasetError> {
    let path = data.frame_path(&entry.id, i);
    let img = dataset::read_image(&path)?;
    if (img.width(), img.height()) != (entry.width, entry.height) {
        return Err(DatasetError::WrongSize {
            path,
            got_w: img.width(),
            got_h: img.height(),
            want_w: entry.width,
            want_h: entry.height,
        });
    }
    Ok(img.into_rgb8())
}

/// `acc = max(acc, f)` per channel (same size).
fn max_into(acc: &mut RgbImage, f: &RgbImage) {
    for (a, &b) in acc.iter_mut().zip(f.iter()) {
        *a = (*a).max(b);
    }
}

/// `base` with the mask's boundary drawn over it, about 3 px wide: every
/// pixel whose 3×3 neighbourhood holds both kept and dropped pixels (kept
/// pixels next to a dropped one and dropped pixels next to a kept one). The
/// frame border is not a boundary. A mask of another size than `base` draws
/// nothing.
pub fn outline(base: &RgbImage, mask: &GrayImage) -> RgbImage {
    let mut out = base.clone();
    if mask.dimensions() != base.dimensions() {
        return out;
    }
    let (w, h) = (base.width() as usize, base.height() as usize);
    let m = mask.as_raw();
    // Separable 3×3 min and max of the 0/1 mask: a row pass, then a column
    // pass; a pixel is on the boundary where they differ.
    let mut lo = vec![0u8; w * h];
    let mut hi = vec![0u8; w * h];
    for y in 0..h {
        let row = &m[y * w..(y + 1) * w];
        for x in 0..w {
            let a = x.saturating_sub(1);
            let b = (x + 1).min(w - 1);
            let win = &row[a..=b];
            lo[y * w + x] = u8::from(win.iter().all(|&v| v != 0));
            hi[y * w + x] = u8::from(win.iter().any(|&v| v != 0));
        }
    }
    for y in 0..h {
        let a = y.saturating_sub(1);
        let b = (y + 1).min(h - 1);
        for x in 0..w {
            let all = (a..=b).all(|r| lo[r * w + x] != 0);
            let any = (a..=b).any(|r| hi[r * w + x] != 0);
            if any && !all {
                out.put_pixel(x as u32, y as u32, OUTLINE);
            }
        }
    }
    out
}

/// `base` with every pixel outside the mask darkened to [`DIM`]/256: what
/// the masked output would keep stands out. A mask of another size than
/// `base` dims everything.
pub fn dimmed(base: &RgbImage, mask: &GrayImage) -> RgbImage {
    let mut out = base.clone();
    let same = mask.dimensions() == base.dimensions();
    for (x, y, p) in out.enumerate_pixels_mut() {
        if !(same && mask.get_pixel(x, y)[0] != 0) {
            for c in p.0.iter_mut() {
                *c = ((u16::from(*c) * DIM) >> 8) as u8;
            }
        }
    }
    out
}

/// `base` tinted red: the label is missing or unreadable.
pub fn flagged(base: &RgbImage) -> RgbImage {
    let mut out = base.clone();
    for p in out.pixels_mut() {
        p.0 = [p.0[0] / 2 + 110, p.0[1] / 3, p.0[2] / 3];
    }
    out
}

/// PNG bytes of `img`, with fast compression: these pictures are shown
/// once, locally; encode time matters more than size.
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut buf = Vec::new();
    PngEncoder::new_with_quality(&mut buf, CompressionType::Fast, FilterType::Sub).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(buf)
}

/// A small most-recently-used cache: rendered base pictures and encoded
/// PNGs, so the two views of a clip and a prefetch share one frame decode.
pub struct ImageCache {
    capacity: usize,
    bases: Mutex<VecDeque<(String, Arc<RgbImage>)>>,
    pngs: Mutex<VecDeque<(String, Arc<Vec<u8>>)>>,
    /// Held while a base picture loads: the page asks for both views of a
    /// clip at once, and the second must wait for the first's frames rather
    /// than decode them again.
    loading: Mutex<()>,
}

fn lookup<T>(q: &Mutex<VecDeque<(String, Arc<T>)>>, key: &str) -> Option<Arc<T>> {
    let mut q = q.lock().unwrap_or_else(|e| e.into_inner());
    let pos = q.iter().position(|(k, _)| k == key)?;
    let item = q.remove(pos)?;
    let v = item.1.clone();
    q.push_front(item);
    Some(v)
}

fn insert<T>(q: &Mutex<VecDeque<(String, Arc<T>)>>, cap: usize, key: String, v: Arc<T>) {
    let mut q = q.lock().unwrap_or_else(|e| e.into_inner());
    q.retain(|(k, _)| *k != key);
    q.push_front((key, v));
    q.truncate(cap);
}

impl ImageCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            bases: Mutex::new(VecDeque::new()),
            pngs: Mutex::new(VecDeque::new()),
            loading: Mutex::new(()),
        }
    }

    /// The base picture of a clip, from the cache or freshly loaded.
    pub fn base(
        &self,
        data: &Dataset,
        id: &str,
        src: Source,
    ) -> Result<Arc<RgbImage>, DatasetError> {
        let key = format!("{id}/{}", src.key());
        if let Some(img) = lookup(&self.bases, &key) {
            return Ok(img);
        }
        let _one_at_a_time = self.loading.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(img) = lookup(&self.bases, &key) {
            return Ok(img);
        }
        let img = Arc::new(load(data, id, src)?);
        insert(&self.bases, self.capacity, key, img.clone());
        Ok(img)
    }

    /// An encoded PNG under `key`, made by `make` on a miss. Errors are not
    /// cached (the file may be fixed while the server runs).
    pub fn png<E>(
        &self,
        key: &str,
        make: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Arc<Vec<u8>>, E> {
        if let Some(p) = lookup(&self.pngs, key) {
            return Ok(p);
        }
        let p = Arc::new(make()?);
        insert(&self.pngs, self.capacity, key.to_string(), p.clone());
        Ok(p)
    }

    /// Forgets every PNG whose key starts with `prefix` (a clip's drawing
    /// changed).
    pub fn forget(&self, prefix: &str) {
        let mut q = self.pngs.lock().unwrap_or_else(|e| e.into_inner());
        q.retain(|(k, _)| !k.starts_with(prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_projection_outline_and_dim() {
        let a = GrayImage::from_fn(6, 4, |x, _| image::Luma([if x < 3 { 100 } else { 0 }]));
        let b = GrayImage::from_fn(6, 4, |x, _| image::Luma([if x >= 3 { 200 } else { 10 }]));
        let mut m = image::DynamicImage::ImageLuma8(a).into_rgb8();
        max_into(&mut m, &image::DynamicImage::ImageLuma8(b).into_rgb8());
        assert_eq!(m.get_pixel(0, 0), &Rgb([100, 100, 100]));
        assert_eq!(m.get_pixel(5, 3), &Rgb([200, 200, 200]));
        let mask = GrayImage::from_fn(6, 4, |x, _| image::Luma([if x >= 3 { 255 } else { 0 }]));
        let o = outline(&m, &mask);
        assert_eq!(
            o.get_pixel(2, 1),
            &OUTLINE,
            "dropped pixel next to a kept one"
        );
        assert_eq!(
            o.get_pixel(3, 1),
            &OUTLINE,
            "kept pixel next to a dropped one"
        );
        assert_eq!(o.get_pixel(0, 1), m.get_pixel(0, 1));
        assert_eq!(
            o.get_pixel(5, 1),
            m.get_pixel(5, 1),
            "frame border is no edge"
        );
        let d = dimmed(&m, &mask);
        assert_eq!(d.get_pixel(0, 0), &Rgb([25, 25, 25]));
        assert_eq!(d.get_pixel(5, 0), &Rgb([200, 200, 200]));
        let png = encode_png(&d).unwrap();
        let back = image::load_from_memory(&png).unwrap().into_rgb8();
        assert_eq!(back, d);
    }

    #[test]
    fn cache_keeps_the_most_recent() {
        let c = ImageCache::new(2);
        for k in ["a", "b", "c"] {
            c.png::<()>(k, || Ok(k.as_bytes().to_vec())).unwrap();
        }
        let miss = std::cell::Cell::new(false);
        c.png::<()>("a", || {
            miss.set(true);
            Ok(vec![])
        })
        .unwrap();
        assert!(miss.get(), "a was evicted");
        assert_eq!(*c.png::<()>("c", || Ok(vec![])).unwrap(), b"c".to_vec());
        c.forget("c");
        assert!(c.png::<()>("c", || Ok(vec![1])).unwrap().len() == 1);
    }
}
