//! Splits libphonenumber's metadata, as the `phonenumber` crate bundles it, by country calling
//! code (`src/phone_metadata.rs` says why): one postcard file per code in `OUT_DIR`, each the
//! crate's own loader records of that code's regions in the crate's order, deflated (the
//! records are mostly regex text: 527 kB of them take 89 kB, in every binary that reads or
//! shows a phone number), and `phone_groups.rs`, the table that includes them.
//!
//! The records are rebuilt from the crate's database through its public getters, so they are
//! exactly what the crate itself parses at start; `phone_metadata`'s tests hold parsing,
//! formatting and validity over them to the crate's answers.

use std::fmt::Write as _;
use std::path::Path;

use phonenumber::metadata::loader;
use phonenumber::metadata::{DATABASE, Descriptor, Format, Metadata};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut table =
        String::from("/// Calling code and its regions' metadata (postcard, deflated), by code.\n");
    table.push_str("static GROUPS: &[(u16, &[u8])] = &[\n");
    let mut regions = Vec::new();
    for code in 1..=999u16 {
        let Some(group) = DATABASE.by_code(&code) else {
            continue;
        };
        let records: Vec<loader::Metadata> = group.iter().map(|m| record(m)).collect();
        regions.extend(
            records
                .iter()
                .filter_map(|r| r.id.clone())
                .filter(|id| id != "001")
                .map(|id| (id, code)),
        );
        let bytes = postcard::to_allocvec(&records).expect("the metadata serialises");
        let bytes = miniz_oxide::deflate::compress_to_vec(&bytes, 10);
        let file = format!("phone-{code}.bin");
        std::fs::write(Path::new(&out_dir).join(&file), bytes).expect("OUT_DIR is writable");
        writeln!(table, "    ({code}, include_bytes!(\"{file}\")),").expect("a String");
    }
    table.push_str("];\n\n/// Region and its calling code, by region.\n");
    table.push_str("static REGIONS: &[(&str, u16)] = &[\n");
    regions.sort();
    for (region, code) in regions {
        writeln!(table, "    ({region:?}, {code}),").expect("a String");
    }
    table.push_str("];\n");
    std::fs::write(Path::new(&out_dir).join("phone_groups.rs"), table)
        .expect("OUT_DIR is writable");
}

/// The loader's record a region's metadata was built from.
fn record(meta: &Metadata) -> loader::Metadata {
    let d = meta.descriptors();
    loader::Metadata {
        general: Some(descriptor(d.general())),
        fixed_line: d.fixed_line().map(descriptor),
        mobile: d.mobile().map(descriptor),
        toll_free: d.toll_free().map(descriptor),
        premium_rate: d.premium_rate().map(descriptor),
        shared_cost: d.shared_cost().map(descriptor),
        personal_number: d.personal_number().map(descriptor),
        voip: d.voip().map(descriptor),
        pager: d.pager().map(descriptor),
        uan: d.uan().map(descriptor),
        emergency: d.emergency().map(descriptor),
        voicemail: d.voicemail().map(descriptor),
        short_code: d.short_code().map(descriptor),
        standard_rate: d.standard_rate().map(descriptor),
        carrier: d.carrier().map(descriptor),
        no_international: d.no_international().map(descriptor),
        id: Some(meta.id().to_owned()),
        country_code: Some(meta.country_code()),
        international_prefix: meta.international_prefix().map(|r| r.as_str().to_owned()),
        preferred_international_prefix: meta.preferred_international_prefix().map(str::to_owned),
        national_prefix: meta.national_prefix().map(str::to_owned),
        preferred_extension_prefix: meta.preferred_extension_prefix().map(str::to_owned),
        national_prefix_for_parsing: meta
            .national_prefix_for_parsing()
            .map(|r| r.as_str().to_owned()),
        national_prefix_transform_rule: meta.national_prefix_transform_rule().map(str::to_owned),
        formats: meta.formats().iter().map(format).collect(),
        international_formats: meta.international_formats().iter().map(format).collect(),
        main_country_for_code: meta.is_main_country_for_code(),
        leading_digits: meta.leading_digits().map(|r| r.as_str().to_owned()),
        mobile_number_portable: meta.is_mobile_number_portable(),
        defaults: Default::default(),
    }
}

fn descriptor(d: &Descriptor) -> loader::Descriptor {
    loader::Descriptor {
        national_number: Some(d.national_number().as_str().to_owned()),
        possible_length: d.possible_length().to_vec(),
        possible_local_length: d.possible_local_length().to_vec(),
        example: d.example().map(str::to_owned),
    }
}

fn format(f: &Format) -> loader::Format {
    loader::Format {
        pattern: Some(f.pattern().as_str().to_owned()),
        format: Some(f.format().to_owned()),
        leading_digits: f
            .leading_digits()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        national_prefix_formatting_rule: f.national_prefix().map(str::to_owned),
        national_prefix_optional_when_formatting: f.is_national_prefix_optional(),
        domestic_carrier: f.domestic_carrier().map(str::to_owned),
    }
}
