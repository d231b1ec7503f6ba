//! The on-disk dataset format every sonomask stage reads and writes.
//!
//! ```text
//! DIR/manifest.json                 what the dataset is and which clips it holds
//! DIR/clips/<id>/frames/000.png …   the frames (8-bit grey or RGB PNG)
//! DIR/clips/<id>/sector.png         ground truth: 255 = inside the scan region(s)   (optional)
//! DIR/clips/<id>/overlay.png        ground truth: 255 = pixel carries text/ECG/markers (optional)
//! DIR/clips/<id>/meta.json          geometry, layout, seed, provenance
//! ```
//!
//! Ingested real data has no `sector.png`/`overlay.png`; synthetic data always
//! has both. Clip ids are restricted to `[A-Za-z0-9_-]` so an id can never
//! name a path outside the dataset. Every file is written to a temporary file
//! and renamed, and the manifest is written last, so an interrupted run never
//! leaves a dataset that looks complete but is not.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

/// The `format` string of every manifest.
pub const FORMAT: &str = "sonomask-dataset";
/// The manifest version this build reads and writes.
pub const VERSION: u32 = 1;

/// Errors reading or writing a dataset; each names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: not a sonomask dataset (no manifest.json); create one with `sonomask synth` or `sonomask ingest`"
    )]
    NoManifest { path: PathBuf },
    #[error("{path}: invalid manifest: {message}")]
    BadManifest { path: PathBuf, message: String },
    #[error("{path}: the dataset holds no clips")]
    Empty { path: PathBuf },
    #[error("unknown clip id {id:?} in dataset {path}")]
    UnknownClip { path: PathBuf, id: String },
    #[error("invalid clip id {0:?}: use only letters, digits, '-' and '_' (at most 64)")]
    BadClipId(String),
    #[error("{path}: cannot read image: {message}")]
    BadImage { path: PathBuf, message: String },
    #[error("{path}: image is {got_w}×{got_h}, expected {want_w}×{want_h}")]
    WrongSize {
        path: PathBuf,
        got_w: u32,
        got_h: u32,
        want_w: u32,
        want_h: u32,
    },
    #[error("clip {id} has no ground truth ({path} is missing); ingested data cannot be scored")]
    NoGroundTruth { id: String, path: PathBuf },
    #[error("{path} is not empty; pass --force to replace it")]
    NotEmpty { path: PathBuf },
}

type Result<T, E = DatasetError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Makes `out` ready for a new dataset: created if missing; a non-empty
/// folder is refused unless `force`, and then only the dataset's own
/// entries (`clips/`, `manifest.json`) are removed, nothing else in it.
pub fn prepare_out(out: &Path, force: bool) -> Result<()> {
    if out.exists() {
        let non_empty = std::fs::read_dir(out)
            .map_err(io_err(out))?
            .next()
            .is_some();
        if non_empty {
            if !force {
                return Err(DatasetError::NotEmpty {
                    path: out.to_path_buf(),
                });
            }
            for name in ["clips", "manifest.json"] {
                let p = out.join(name);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else if p.exists() {
                    std::fs::remove_file(&p)
                } else {
                    Ok(())
                }
                .map_err(io_err(&p))?;
            }
        }
    }
    std::fs::create_dir_all(out).map_err(io_err(out))
}

/// One clip as listed in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClipEntry {
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    /// Whether frames are stored as RGB (else 8-bit grey).
    pub color: bool,
    /// Whether `sector.png` and `overlay.png` exist.
    pub ground_truth: bool,
}

/// `DIR/manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The command that made the dataset (`synth`, `ingest`).
    pub created_by: String,
    /// The configuration that made it, so the dataset can be regenerated.
    pub config: serde_json::Value,
    pub clips: Vec<ClipEntry>,
}

/// Checks a clip id: non-empty, ≤ 64 characters, `[A-Za-z0-9_-]` only.
pub fn validate_clip_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(DatasetError::BadClipId(id.to_string()))
    }
}

/// A clip's frames as loaded: RGB or grey, one image per frame.
#[derive(Clone, Debug)]
pub enum Frames {
    Gray(Vec<GrayImage>),
    Rgb(Vec<RgbImage>),
}

impl Frames {
    pub fn len(&self) -> usize {
        match self {
            Frames::Gray(v) => v.len(),
            Frames::Rgb(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frames as luma (Rec. 601 for RGB), which every labeler works on.
    pub fn to_luma(&self) -> Vec<GrayImage> {
        match self {
            Frames::Gray(v) => v.clone(),
            Frames::Rgb(v) => v.iter().map(rgb_to_luma).collect(),
        }
    }
}

/// Rec. 601 luma of an RGB image, rounded: the shared core's
/// [`sonomask_core::luma_601`], so the host's labelers, the trainer and the
/// cart's thumbnail agree on every pixel.
pub fn rgb_to_luma(img: &RgbImage) -> GrayImage {
    let (w, h) = img.dimensions();
    let data = img
        .as_raw()
        .chunks_exact(3)
        .map(|p| sonomask_core::luma_601(p[0], p[1], p[2]))
        .collect();
    GrayImage::from_raw(w, h, data).expect("luma buffer matches dimensions")
}

/// An opened dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    root: PathBuf,
    manifest: Manifest,
}

impl Dataset {
    /// Opens `dir`, checking that it is a non-empty dataset of a version this
    /// build understands.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let root = dir.as_ref().to_path_buf();
        let meta = fs::metadata(&root).map_err(io_err(&root))?;
        if !meta.is_dir() {
            return Err(DatasetError::NoManifest { path: root });
        }
        let mpath = root.join("manifest.json");
        let text = match fs::read_to_string(&mpath) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(DatasetError::NoManifest { path: root });
            }
            Err(e) => return Err(io_err(&mpath)(e)),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| DatasetError::BadManifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
        if manifest.format != FORMAT || manifest.version != VERSION {
            return Err(DatasetError::BadManifest {
                path: mpath,
                message: format!(
                    "format {:?} version {}, this build reads {FORMAT:?} version {VERSION}",
                    manifest.format, manifest.version
                ),
            });
        }
        for c in &manifest.clips {
            validate_clip_id(&c.id).map_err(|e| DatasetError::BadManifest {
                path: mpath.clone(),
                message: e.to_string(),
            })?;
            // Frame geometry is u16 everywhere downstream (fit, spans,
            // thumbnails); frames are checked against these sizes on load.
            if !(1..=u32::from(u16::MAX)).contains(&c.width)
                || !(1..=u32::from(u16::MAX)).contains(&c.height)
            {
                return Err(DatasetError::BadManifest {
                    path: mpath.clone(),
                    message: format!(
                        "clip {} is {}×{}: sides must be 1 to 65535 pixels",
                        c.id, c.width, c.height
                    ),
                });
            }
        }
        if manifest.clips.is_empty() {
            return Err(DatasetError::Empty { path: root });
        }
        Ok(Self { root, manifest })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn clips(&self) -> &[ClipEntry] {
        &self.manifest.clips
    }

    /// The manifest entry of clip `id`.
    pub fn clip(&self, id: &str) -> Result<&ClipEntry> {
        validate_clip_id(id)?;
        self.manifest
            .clips
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| DatasetError::UnknownClip {
                path: self.root.clone(),
                id: id.to_string(),
            })
    }

    /// The folder of clip `id`.
    pub fn clip_dir(&self, id: &str) -> PathBuf {
        self.root.join("clips").join(id)
    }

    /// Path of frame `index` of clip `id`.
    pub fn frame_path(&self, id: &str, index: usize) -> PathBuf {
        self.clip_dir(id)
            .join("frames")
            .join(frame_file_name(index))
    }

    /// Loads every frame of clip `id`, checking each against the manifest size.
    pub fn load_frames(&self, id: &str) -> Result<Frames> {
        let entry = self.clip(id)?;
        let mut gray = Vec::new();
        let mut rgb = Vec::new();
        for i in 0..entry.frames {
            let path = self.frame_path(id, i);
            let img = read_image(&path)?;
            check_size(&path, img.width(), img.height(), entry.width, entry.height)?;
            if entry.color {
                rgb.push(img.into_rgb8());
            } else {
                gray.push(img.into_luma8());
            }
        }
        Ok(if entry.color {
            Frames::Rgb(rgb)
        } else {
            Frames::Gray(gray)
        })
    }

    /// Loads clip `id`'s frames as luma.
    pub fn load_luma(&self, id: &str) -> Result<Vec<GrayImage>> {
        Ok(self.load_frames(id)?.to_luma())
    }

    /// Loads a ground-truth mask (`sector.png` or `overlay.png`).
    fn load_truth(&self, id: &str, file: &str) -> Result<GrayImage> {
        let entry = self.clip(id)?;
        let path = self.clip_dir(id).join(file);
        if !path.exists() {
            return Err(DatasetError::NoGroundTruth {
                id: id.to_string(),
                path,
            });
        }
        read_mask(&path, entry.width, entry.height)
    }

    /// The true sector mask of clip `id` (255 = inside).
    pub fn load_sector(&self, id: &str) -> Result<GrayImage> {
        self.load_truth(id, "sector.png")
    }

    /// The overlay (PHI/annotation) mask of clip `id` (255 = overlay pixel).
    pub fn load_overlay(&self, id: &str) -> Result<GrayImage> {
        self.load_truth(id, "overlay.png")
    }

    /// Clip `id`'s `meta.json`, as free-form JSON.
    pub fn load_meta(&self, id: &str) -> Result<serde_json::Value> {
        self.clip(id)?;
        let path = self.clip_dir(id).join("meta.json");
        let text = fs::read_to_string(&path).map_err(io_err(&path))?;
        serde_json::from_str(&text).map_err(|e| DatasetError::BadManifest {
            path,
            message: e.to_string(),
        })
    }
}

/// `000.png`, `001.png`, … (at least three digits).
pub fn frame_file_name(index: usize) -> String {
    format!("{index:03}.png")
}

fn check_size(path: &Path, w: u32, h: u32, want_w: u32, want_h: u32) -> Result<()> {
    if (w, h) != (want_w, want_h) {
        return Err(DatasetError::WrongSize {
            path: path.to_path_buf(),
            got_w: w,
            got_h: h,
            want_w,
            want_h,
        });
    }
    Ok(())
}

/// Reads any image file, mapping failures to an error naming the file.
pub fn read_image(path: &Path) -> Result<image::DynamicImage> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    image::load_from_memory(&bytes).map_err(|e| DatasetError::BadImage {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads an 8-bit mask PNG and checks its size; any nonzero value counts as 255.
pub fn read_mask(path: &Path, want_w: u32, want_h: u32) -> Result<GrayImage> {
    let img = read_image(path)?;
    check_size(path, img.width(), img.height(), want_w, want_h)?;
    let mut m = img.into_luma8();
    for p in m.iter_mut() {
        *p = if *p != 0 { 255 } else { 0 };
    }
    Ok(m)
}

/// Writes `bytes` to `path` through a temporary file in the same folder and
/// a rename, so readers never see a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_mode(path, bytes, None)
}

/// [`write_atomic`] with unix permission bits set on the temporary file
/// before any byte is written (secrets: `Some(0o600)`).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io_err(dir))?;
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).map_err(io_err(path))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes).map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| DatasetError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Encodes an image as PNG and writes it atomically.
pub fn write_png<P, C>(path: &Path, img: &image::ImageBuffer<P, C>) -> Result<()>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    let mut buf = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut buf), image::ImageFormat::Png)
        .map_err(|e| DatasetError::BadImage {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    write_atomic(path, &buf)
}

/// Writes a JSON value atomically, pretty-printed.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| DatasetError::BadManifest {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// One clip ready to be written.
pub struct ClipData<'a> {
    pub id: &'a str,
    pub frames: FramesRef<'a>,
    pub sector: Option<&'a GrayImage>,
    pub overlay: Option<&'a GrayImage>,
    pub meta: serde_json::Value,
}

/// Borrowed frames to write.
pub enum FramesRef<'a> {
    Gray(&'a [GrayImage]),
    Rgb(&'a [RgbImage]),
}

/// Writes one clip into `root/clips/<id>/`: everything goes into a hidden
/// staging folder first, which is renamed into place at the end, replacing an
/// older clip of the same id. Returns its manifest entry.
pub fn write_clip(root: &Path, clip: &ClipData<'_>) -> Result<ClipEntry> {
    validate_clip_id(clip.id)?;
    let clips = root.join("clips");
    fs::create_dir_all(&clips).map_err(io_err(&clips))?;
    let stage = tempfile::Builder::new()
        .prefix(&format!(".staging-{}-", clip.id))
        .tempdir_in(&clips)
        .map_err(io_err(&clips))?;
    let frames_dir = stage.path().join("frames");
    fs::create_dir_all(&frames_dir).map_err(io_err(&frames_dir))?;
    let (width, height, n, color) = match clip.frames {
        FramesRef::Gray(v) => {
            for (i, f) in v.iter().enumerate() {
                write_png(&frames_dir.join(frame_file_name(i)), f)?;
            }
            let (w, h) = v.first().map_or((0, 0), |f| f.dimensions());
            (w, h, v.len(), false)
        }
        FramesRef::Rgb(v) => {
            for (i, f) in v.iter().enumerate() {
                write_png(&frames_dir.join(frame_file_name(i)), f)?;
            }
            let (w, h) = v.first().map_or((0, 0), |f| f.dimensions());
            (w, h, v.len(), true)
        }
    };
    if let Some(s) = clip.sector {
        write_png(&stage.path().join("sector.png"), s)?;
    }
    if let Some(o) = clip.overlay {
        write_png(&stage.path().join("overlay.png"), o)?;
    }
    write_json(&stage.path().join("meta.json"), &clip.meta)?;
    let dest = clips.join(clip.id);
    if dest.exists() {
        fs::remove_dir_all(&dest).map_err(io_err(&dest))?;
    }
    let staged = stage.keep();
    fs::rename(&staged, &dest).map_err(io_err(&dest))?;
    Ok(ClipEntry {
        id: clip.id.to_string(),
        width,
        height,
        frames: n,
        color,
        ground_truth: clip.sector.is_some() && clip.overlay.is_some(),
    })
}

/// Writes the manifest last, atomically.
pub fn write_manifest(root: &Path, manifest: &Manifest) -> Result<()> {
    write_json(&root.join("manifest.json"), manifest)
}

/// Reads the keep masks a labeler wrote (`MASKDIR/<clip-id>.png`) for the
/// clips of `data`, checking presence and size.
pub fn read_label_mask(mask_dir: &Path, entry: &ClipEntry) -> Result<GrayImage> {
    let path = mask_dir.join(format!("{}.png", entry.id));
    if !path.exists() {
        return Err(DatasetError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no mask for this clip"),
        });
    }
    read_mask(&path, entry.width, entry.height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_ids_cannot_escape() {
        for bad in ["", "..", "../x", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(validate_clip_id(bad).is_err(), "{bad:?}");
        }
        validate_clip_id("clip0001_a-b").unwrap();
    }

    #[test]
    fn write_then_read_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let frames: Vec<GrayImage> = (0..3)
            .map(|i| GrayImage::from_fn(8, 6, |x, y| image::Luma([(x + y + i) as u8])))
            .collect();
        let sector = GrayImage::from_fn(8, 6, |x, _| image::Luma([if x > 3 { 255 } else { 0 }]));
        let entry = write_clip(
            dir.path(),
            &ClipData {
                id: "c1",
                frames: FramesRef::Gray(&frames),
                sector: Some(&sector),
                overlay: Some(&sector),
                meta: serde_json::json!({"k": 1}),
            },
        )
        .unwrap();
        write_manifest(
            dir.path(),
            &Manifest {
                format: FORMAT.into(),
                version: VERSION,
                created_by: "test".into(),
                config: serde_json::Value::Null,
                clips: vec![entry],
            },
        )
        .unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        let luma = ds.load_luma("c1").unwrap();
        assert_eq!(luma, frames);
        assert_eq!(ds.load_sector("c1").unwrap(), sector);
        assert!(matches!(
            ds.clip("nope"),
            Err(DatasetError::UnknownClip { .. })
        ));
        assert!(matches!(ds.clip("../x"), Err(DatasetError::BadClipId(_))));
        // No staging folders left behind.
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("clips"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn missing_and_empty_folders_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Dataset::open(dir.path()),
            Err(DatasetError::NoManifest { .. })
        ));
        assert!(matches!(
            Dataset::open(dir.path().join("absent")),
            Err(DatasetError::Io { .. })
        ));
        write_manifest(
            dir.path(),
            &Manifest {
                format: FORMAT.into(),
                version: VERSION,
                created_by: "test".into(),
                config: serde_json::Value::Null,
                clips: vec![],
            },
        )
        .unwrap();
        assert!(matches!(
            Dataset::open(dir.path()),
            Err(DatasetError::Empty { .. })
        ));
    }

    #[test]
    fn corrupt_frame_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let frames = vec![GrayImage::new(4, 4)];
        let entry = write_clip(
            dir.path(),
            &ClipData {
                id: "c",
                frames: FramesRef::Gray(&frames),
                sector: None,
                overlay: None,
                meta: serde_json::Value::Null,
            },
        )
        .unwrap();
        write_manifest(
            dir.path(),
            &Manifest {
                format: FORMAT.into(),
                version: VERSION,
                created_by: "t".into(),
                config: serde_json::Value::Null,
                clips: vec![entry],
            },
        )
        .unwrap();
        fs::write(dir.path().join("clips/c/frames/000.png"), b"not a png").unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        let err = ds.load_frames("c").unwrap_err().to_string();
        assert!(err.contains("000.png"), "{err}");
        assert!(matches!(
            ds.load_sector("c"),
            Err(DatasetError::NoGroundTruth { .. })
        ));
    }
}
