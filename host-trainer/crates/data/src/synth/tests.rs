use super::*;
use sonomask_core::Region;

fn cfg(seed: u64, layouts: &[Layout]) -> SynthConfig {
    SynthConfig {
        seed,
        clips: 10,
        frames: 6,
        size: None,
        layouts: layouts.to_vec(),
    }
}

#[test]
fn layout_names_round_trip() {
    for l in Layout::ALL {
        assert_eq!(l.to_string().parse::<Layout>().unwrap(), l);
        assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
    }
    assert!("sector".parse::<Layout>().is_err());
}

#[test]
fn deterministic_and_seed_dependent() {
    let c = cfg(7, &[]);
    let a = generate_clip(&c, 3);
    let b = generate_clip(&c, 3);
    assert_eq!(a.frames, b.frames);
    assert_eq!(a.sector, b.sector);
    assert_eq!(a.overlay, b.overlay);
    assert_eq!(
        serde_json::to_string(&a.meta).unwrap(),
        serde_json::to_string(&b.meta).unwrap()
    );
    let d = generate_clip(&cfg(8, &[a.meta.layout]), 3);
    assert_ne!(a.frames[0].as_raw(), d.frames[0].as_raw());
}

#[test]
fn sector_is_rasterised_regions_and_grey_is_grey() {
    for (i, l) in Layout::ALL.into_iter().enumerate() {
        for k in 0..2 {
            let clip = generate_clip(&cfg(11 + k, &[l]), i);
            let m = &clip.meta;
            assert_eq!(m.layout, l);
            assert!(m.regions.is_valid(), "{m:?}");
            let mut r = vec![0u8; (m.width * m.height) as usize];
            assert!(m.regions.rasterize(m.width as u16, m.height as u16, &mut r));
            assert_eq!(r.as_slice(), clip.sector.as_raw().as_slice(), "{}", m.id);
            if !m.color {
                for f in &clip.frames {
                    assert!(
                        f.pixels().all(|p| p[0] == p[1] && p[1] == p[2]),
                        "{} not grey",
                        m.id
                    );
                }
            }
        }
    }
}

#[test]
fn every_layout_is_sane() {
    for l in Layout::ALL {
        for seed in 0..3 {
            let clip = generate_clip(&cfg(100 + seed, &[l]), seed as usize);
            let m = &clip.meta;
            assert_eq!(clip.frames.len(), 6);
            // Windows, phone apps and bare streams: see `screens_...` below.
            if m.screen != Screen::Scanner {
                continue;
            }
            assert!(
                (640..=1024).contains(&m.width) && (480..=768).contains(&m.height),
                "{m:?}"
            );
            for f in &clip.frames {
                assert_eq!(f.dimensions(), (m.width, m.height));
            }
            let n = (m.width * m.height) as f32;
            let area = clip.sector.pixels().filter(|p| p[0] == 255).count() as f32 / n;
            assert!(
                (0.12..0.85).contains(&area),
                "{} {l}: sector area {area}",
                m.id
            );
            let expected_regions = match l {
                Layout::Dual | Layout::Mmode => 2,
                _ => 1,
            };
            assert_eq!(m.regions.len(), expected_regions, "{} {l}", m.id);
            assert_eq!(m.strip.is_some(), l == Layout::Mmode);
            // Tissue is brighter than the background, unless the probe is in air.
            if !m.near_black {
                let f = &clip.frames[0];
                let (mut si, mut so, mut ni, mut no) = (0f64, 0f64, 0f64, 0f64);
                for (i, p) in f.pixels().enumerate() {
                    let inside = clip.sector.as_raw()[i] != 0;
                    let ov = clip.overlay.as_raw()[i] != 0;
                    if inside && !ov {
                        si += f64::from(p[1]);
                        ni += 1.0;
                    } else if !inside && !ov {
                        so += f64::from(p[1]);
                        no += 1.0;
                    }
                }
                assert!(
                    si / ni > so / no + 8.0,
                    "{} {l}: inside {} outside {}",
                    m.id,
                    si / ni,
                    so / no
                );
            }
        }
    }
}

#[test]
fn overlay_is_mostly_outside_and_nothing_leaks() {
    for (i, l) in Layout::ALL.into_iter().enumerate() {
        let clip = generate_clip(&cfg(21, &[l]), i);
        let m = &clip.meta;
        if m.screen != Screen::Scanner {
            continue;
        }
        let (w, h) = (m.width as i64, m.height as i64);
        let sec = clip.sector.as_raw();
        let ov = clip.overlay.as_raw();
        let total = ov.iter().filter(|&&v| v != 0).count();
        let inside = ov
            .iter()
            .zip(sec)
            .filter(|&(&o, &s)| o != 0 && s != 0)
            .count();
        assert!(total > 200, "{}: overlay too small ({total})", m.id);
        assert!(
            (inside as f32) < 0.5 * total as f32,
            "{}: {inside} of {total} overlay pixels inside",
            m.id
        );
        if m.jpeg_quality.is_some() {
            continue;
        }
        // Outside sector and overlay (dilated by 2 px), every pixel is background.
        let near = |x: i64, y: i64| {
            (-2..=2).any(|dy| {
                (-2..=2).any(|dx| {
                    let (xx, yy) = (x + dx, y + dy);
                    xx >= 0
                        && yy >= 0
                        && xx < w
                        && yy < h
                        && (ov[(yy * w + xx) as usize] != 0 || sec[(yy * w + xx) as usize] != 0)
                })
            })
        };
        let bg = clip.frames[0].get_pixel(0, m.height - 1)[0];
        let _ = bg;
        let f = &clip.frames[m.frames - 1];
        let mut leaks = 0;
        for y in 0..h {
            for x in 0..w {
                let p = f.get_pixel(x as u32, y as u32);
                if p[0].max(p[1]).max(p[2]) > 8 && !near(x, y) {
                    leaks += 1;
                }
            }
        }
        assert!(
            leaks < 50,
            "{}: {leaks} bright pixels outside sector and overlay",
            m.id
        );
    }
}

#[test]
fn tissue_moves_and_text_stays() {
    let mut checked = 0;
    for (i, l) in Layout::ALL.into_iter().cycle().take(16).enumerate() {
        let clip = generate_clip(&cfg(31, &[l]), i);
        let m = &clip.meta;
        if m.near_black || m.screen != Screen::Scanner {
            continue;
        }
        checked += 1;
        let sec = clip.sector.as_raw();
        // Tissue motion is judged on the first (live) pane: a sweeping
        // M-mode strip only changes near its cursor.
        let mut first = vec![0u8; sec.len()];
        let live = (0..m.regions.len())
            .find(|i| !m.frozen_regions.contains(i))
            .unwrap();
        Regions::one(m.regions.regions[live]).rasterize(
            m.width as u16,
            m.height as u16,
            &mut first,
        );
        let ov = clip.overlay.as_raw();
        let f0 = clip.frames[0].as_raw();
        let (mut tissue, mut varying) = (0usize, 0usize);
        let (mut text, mut static_text) = (0usize, 0usize);
        for i in 0..sec.len() {
            let changes = clip.frames[1..]
                .iter()
                .any(|f| f.as_raw()[i * 3..i * 3 + 3] != f0[i * 3..i * 3 + 3]);
            if first[i] != 0 && ov[i] == 0 {
                tissue += 1;
                varying += usize::from(changes);
            } else if sec[i] == 0 && ov[i] != 0 {
                text += 1;
                static_text += usize::from(!changes);
            }
        }
        let fv = varying as f32 / tissue as f32;
        let fs = static_text as f32 / text.max(1) as f32;
        assert!(fv > 0.3, "{} {l}: only {fv} of the live pane varies", m.id);
        assert!(fs > 0.5, "{} {l}: only {fs} of the overlay is static", m.id);
    }
    assert!(checked >= 5);
}

#[test]
fn odd_sizes_and_single_frames_work() {
    for (k, size) in [(320u32, 240u32), (1280, 720), (700, 700)]
        .into_iter()
        .enumerate()
    {
        for l in Layout::ALL {
            let c = SynthConfig {
                seed: 77 + k as u64,
                clips: 1,
                frames: 1,
                size: Some(size),
                layouts: vec![l],
            };
            let clip = generate_clip(&c, k);
            assert_eq!(clip.frames.len(), 1);
            assert_eq!(clip.frames[0].dimensions(), size);
            assert_eq!(clip.sector.dimensions(), size);
            assert!(clip.meta.regions.is_valid(), "{size:?} {l}");
        }
    }
}

/// Pixels of `clip`'s last frame brighter than 8 that lie more than 2 px
/// from both the sector and the overlay.
fn stray_pixels(clip: &SynthClip) -> usize {
    let m = &clip.meta;
    let (w, h) = (i64::from(m.width), i64::from(m.height));
    let (sec, ov) = (clip.sector.as_raw(), clip.overlay.as_raw());
    let near = |x: i64, y: i64| {
        (-2..=2).any(|dy| {
            (-2..=2).any(|dx| {
                let (xx, yy) = (x + dx, y + dy);
                xx >= 0
                    && yy >= 0
                    && xx < w
                    && yy < h
                    && (ov[(yy * w + xx) as usize] != 0 || sec[(yy * w + xx) as usize] != 0)
            })
        })
    };
    let f = &clip.frames[m.frames - 1];
    (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = f.get_pixel(x as u32, y as u32);
            p[0].max(p[1]).max(p[2]) > 8 && !near(x, y)
        })
        .count()
}

#[test]
fn screens_are_mixed_and_keep_their_ground_truth() {
    let c = SynthConfig {
        seed: 7,
        clips: 40,
        frames: 2,
        size: None,
        layouts: Vec::new(),
    };
    let mut seen = std::collections::HashMap::new();
    for i in 0..c.clips {
        let clip = generate_clip(&c, i);
        let m = &clip.meta;
        *seen.entry(m.screen).or_insert(0usize) += 1;
        assert!(m.regions.is_valid(), "{m:?}");
        for f in &clip.frames {
            assert_eq!(f.dimensions(), (m.width, m.height));
        }
        let mut r = vec![0u8; (m.width * m.height) as usize];
        assert!(m.regions.rasterize(m.width as u16, m.height as u16, &mut r));
        assert_eq!(r.as_slice(), clip.sector.as_raw().as_slice(), "{}", m.id);
        let (sec, ov) = (clip.sector.as_raw(), clip.overlay.as_raw());
        let n = sec.len() as f32;
        let area = sec.iter().filter(|&&s| s != 0).count() as f32 / n;
        assert!((0.04..0.9).contains(&area), "{} sector area {area}", m.id);
        let outside = sec.iter().filter(|&&s| s == 0).count() as f32;
        let marked = sec
            .iter()
            .zip(ov)
            .filter(|&(&s, &o)| s == 0 && o != 0)
            .count() as f32;
        match m.screen {
            // The window is burned-in UI (the scanner's own black is not).
            Screen::App => assert!(marked > 0.15 * outside, "{}: {marked}/{outside}", m.id),
            Screen::Handheld => assert!(marked > 500.0, "{}: {marked}", m.id),
            // A bare stream carries no text and nothing but the sector.
            Screen::Probe => {
                assert!(ov.iter().all(|&o| o == 0), "{}", m.id);
                if m.jpeg_quality.is_none() {
                    assert!(stray_pixels(&clip) < 50, "{}", m.id);
                }
            }
            Screen::Scanner => {}
        }
    }
    let new = c.clips - seen.get(&Screen::Scanner).copied().unwrap_or(0);
    assert!((8..=20).contains(&new), "{seen:?}");
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[test]
fn zoomed_curved_scans_fill_their_box_edge_to_edge() {
    // Some dual screens of a curved probe show it zoomed: the sector is the
    // pane's rectangle, and the beam geometry covers all of it (its four
    // corners lie inside the fan), where an unzoomed fan leaves black
    // corners.
    let mut zoomed = 0;
    let mut curved = 0;
    for seed in 0..200u64 {
        let mut rng = util::rng_for(seed, 1);
        let mut plan = layout::plan(Layout::Dual, 800, 600, &mut rng);
        if plan.probe == ProbeKind::Linear {
            continue;
        }
        curved += 1;
        layout::zoom(&mut plan, &mut util::rng_for(seed, 7));
        let rects = plan
            .panes
            .iter()
            .filter(|p| matches!(p.region, Region::Rect(_)))
            .count();
        if rects == 0 {
            continue;
        }
        assert_eq!(rects, 2, "seed {seed}: both panes zoom");
        assert!(plan.apex.is_none(), "seed {seed}");
        zoomed += 1;
        for p in &plan.panes {
            let Region::Rect(r) = p.region else {
                unreachable!()
            };
            for (x, y) in [(r.x0, r.y0), (r.x1, r.y0), (r.x0, r.y1), (r.x1, r.y1)] {
                let (u, v) = p.geom.uv(x, y);
                assert!(
                    (0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v),
                    "seed {seed}: corner ({x}, {y}) at beam ({u}, {v})"
                );
            }
        }
    }
    // About a third of the curved dual screens.
    let share = zoomed as f32 / curved as f32;
    assert!((0.2..0.5).contains(&share), "{zoomed} of {curved}");
    // And the generator emits them: the sector is the two rectangles.
    let c = SynthConfig {
        seed: 9,
        clips: 30,
        frames: 2,
        size: None,
        layouts: vec![Layout::Dual],
    };
    let emitted = (0..c.clips)
        .map(|i| generate_clip(&c, i).meta)
        .filter(|m| {
            m.probe != ProbeKind::Linear && m.regions.iter().all(|r| matches!(r, Region::Rect(_)))
        })
        .count();
    assert!(emitted > 0);
}
