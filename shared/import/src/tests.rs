//! Whole-file tests through the public API. Every fixture is built here as bytes.

use std::io::Read;

use domain::{AccountingSystem, CustomerKind, ExternalRef, PaymentTerms, Tier};

use super::*;

type Row = Result<ValidRow, Vec<RowError>>;

fn options() -> ImportOptions {
    ImportOptions::for_country("SE")
}

fn read_with(bytes: &[u8], options: &ImportOptions) -> Vec<Row> {
    ImportReader::new(bytes, options)
        .expect("a readable file")
        .collect()
}

fn read(bytes: &[u8]) -> Vec<Row> {
    read_with(bytes, &options())
}

fn valid(rows: &[Row]) -> Vec<&ValidRow> {
    rows.iter()
        .map(|row| match row {
            Ok(row) => row,
            Err(errors) => panic!("unexpected errors: {errors:#?}"),
        })
        .collect()
}

fn errors(row: &Row) -> &[RowError] {
    match row {
        Ok(row) => panic!("expected errors, got a valid row on line {}", row.line),
        Err(errors) => errors,
    }
}

fn names(rows: &[Row]) -> Vec<(u64, String)> {
    valid(rows)
        .into_iter()
        .map(|row| {
            let first = row.fields.first_name.as_deref().unwrap_or("");
            let last = row.fields.last_name.as_deref().unwrap_or("");
            (row.line, format!("{first} {last}").trim().to_owned())
        })
        .collect()
}

fn windows_1252(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

const SIMPLE: &str = "Customer Number,First Name,Last Name,Email\n\
                      1,Åsa,Öberg,asa@example.com\n\
                      2,Émile,Zola,emile@example.com\n";

// ---------------------------------------------------------------- encodings

#[test]
fn utf8_without_bom() {
    let rows = read(SIMPLE.as_bytes());
    assert_eq!(
        names(&rows),
        vec![(2, "Åsa Öberg".into()), (3, "Émile Zola".into())]
    );
}

#[test]
fn utf8_with_bom() {
    let bytes = [b"\xEF\xBB\xBF", SIMPLE.as_bytes()].concat();
    let reader = ImportReader::new(&bytes[..], &options()).unwrap();
    // The BOM is not part of the first header name.
    assert_eq!(
        reader.header().columns[0].column,
        Some(Column::CustomerNumber)
    );
    assert_eq!(reader.encoding(), TextEncoding::Utf8);
    let rows: Vec<Row> = reader.collect();
    assert_eq!(
        names(&rows),
        vec![(2, "Åsa Öberg".into()), (3, "Émile Zola".into())]
    );
}

#[test]
fn windows_1252_with_swedish_and_french_letters() {
    let text = "Kundnummer;Förnamn;Efternamn;Ort\n1;Åsa;Öberg;Västerås\n2;Émile;Zäll;Malmö\n";
    let bytes = windows_1252(text);
    assert!(std::str::from_utf8(&bytes).is_err());
    let reader = ImportReader::new(&bytes[..], &options()).unwrap();
    assert_eq!(reader.encoding(), TextEncoding::Windows1252);
    assert_eq!(reader.header().columns[1].name, "Förnamn");
    let rows: Vec<Row> = reader.collect();
    assert_eq!(
        names(&rows),
        vec![(2, "Åsa Öberg".into()), (3, "Émile Zäll".into())]
    );
    let city = |i: usize| {
        valid(&rows)[i]
            .fields
            .visiting_address
            .clone()
            .unwrap()
            .city
    };
    assert_eq!(city(0).as_deref(), Some("Västerås"));
}

#[test]
fn windows_1252_letter_after_the_sample() {
    let mut text = String::from("Customer Number,First Name,Last Name,Padding\n");
    // Plain ASCII past the sample, in rows of a realistic length.
    for n in 0..SAMPLE_LEN / 1000 + 1 {
        text += &format!("{n},Anna,Berg,{}\n", "x".repeat(1000));
    }
    let mut bytes = text.into_bytes();
    assert!(bytes.len() > SAMPLE_LEN);
    bytes.extend_from_slice(b"999,Ren\xE9,Caf\xE9,\n");
    let rows = read(&bytes);
    assert_eq!(names(&rows).last(), Some(&(68, "René Café".into())));
}

#[test]
fn utf8_character_cut_at_the_sample_edge() {
    let header = "Customer Number,First Name,Last Name,Padding\n";
    let before_name = "2,Åke,";
    // Pad the first row so that the two bytes of "Ö" straddle the end of the sample.
    let filler_len = SAMPLE_LEN - 1 - header.len() - before_name.len();
    let filler = format!(
        "1,Pad,Pad,{}\n",
        "x".repeat(filler_len - "1,Pad,Pad,\n".len())
    );
    let text = format!("{header}{filler}{before_name}Öberg,\n");
    assert_eq!(text.find('Ö'), Some(SAMPLE_LEN - 1));
    let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    assert_eq!(reader.encoding(), TextEncoding::Utf8);
    let rows: Vec<Row> = reader.collect();
    assert_eq!(names(&rows)[1], (3, "Åke Öberg".into()));
}

#[test]
fn invalid_utf8_cell_in_a_utf8_file_is_reported() {
    // The bad byte comes after the sample, which decided UTF-8.
    let mut text = SIMPLE.replace("Email", "Email,Padding");
    text += &format!("3,Bo,Ek,bo@example.com,{}\n", "x".repeat(SAMPLE_LEN));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"4,Cy,Ek\xFF,cy@example.com,\n");
    let rows = read(&bytes);
    let error = &errors(&rows[3])[0];
    assert_eq!(error.code, "invalid_encoding");
    assert_eq!(error.column.as_deref(), Some("Last Name"));
    assert_eq!(error.value.as_deref(), Some("Ek\u{FFFD}"));
}

/// `text` as Excel's "Unicode text" writes it: UTF-16 with its byte-order mark.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mark: &[u8] = if big_endian { b"\xFE\xFF" } else { b"\xFF\xFE" };
    let units = text.encode_utf16().flat_map(|unit| {
        if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        }
    });
    mark.iter().copied().chain(units).collect()
}

#[test]
fn unicode_text_from_excel_reads_as_the_same_file_in_utf8() {
    // Tab-separated, as Excel saves "Unicode text", with letters beyond ASCII and beyond the
    // Basic Multilingual Plane.
    let text = SIMPLE.replace(',', "\t").replace("Åsa", "Åsa 🔧");
    let expected = read(text.as_bytes());
    for big_endian in [false, true] {
        let bytes = utf16(&text, big_endian);
        let reader = ImportReader::new(
            Trickle {
                bytes: &bytes,
                chunk: 3,
            },
            &options(),
        )
        .unwrap();
        assert_eq!(reader.delimiter(), '\t');
        let encoding = if big_endian {
            TextEncoding::Utf16Be
        } else {
            TextEncoding::Utf16Le
        };
        assert_eq!(reader.encoding(), encoding);
        assert_eq!(
            reader.collect::<Vec<_>>(),
            expected,
            "big-endian: {big_endian}"
        );
    }
}

#[test]
fn a_workbook_or_a_pdf_is_refused_with_advice_to_save_it_as_csv() {
    for (start, kind) in [
        (&b"PK\x03\x04\x14\x00\x06\x00"[..], ".xlsx"),
        (&b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00"[..], ".xls"),
        (&b"%PDF-1.7\n"[..], "PDF"),
    ] {
        let error = ImportReader::new(start, &options()).err().unwrap();
        assert!(matches!(error, FileError::NotText(_)), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(kind) && message.contains("CSV UTF-8"),
            "{message}"
        );
    }
}

#[test]
fn utf32_is_refused_with_advice() {
    let error = ImportReader::new(&b"\xFF\xFE\x00\x00C\x00\x00\x00"[..], &options())
        .err()
        .unwrap();
    assert!(matches!(error, FileError::UnsupportedEncoding("UTF-32")));
    assert!(error.to_string().contains("CSV UTF-8"), "{error}");
}

// ---------------------------------------------------------------- dialect

#[test]
fn comma_semicolon_and_tab() {
    for delimiter in [',', ';', '\t'] {
        let text = SIMPLE.replace(',', &delimiter.to_string());
        let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
        assert_eq!(reader.delimiter(), delimiter);
        let rows: Vec<Row> = reader.collect();
        assert_eq!(names(&rows).len(), 2, "{delimiter:?}");
    }
}

#[test]
fn semicolon_file_with_decimal_commas() {
    let text =
        "Kundnummer;Namn;Kreditgräns;Saldo\n1;Acme AB;10 000,50;1,25\n2;Bolaget AB;500,00;0\n";
    let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    assert_eq!(reader.delimiter(), ';');
    let rows: Vec<Row> = reader.collect();
    let rows = valid(&rows);
    assert_eq!(rows[0].fields.terms.credit_limit, Some(1_000_050));
    assert_eq!(rows[0].fields.terms.open_balance, 125);
}

#[test]
fn excel_separator_line_names_the_delimiter() {
    let text = "sep=;\r\nCustomer Number;First Name;Notes\r\n1;Anna;a,b,c\r\n";
    let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    assert_eq!(reader.delimiter(), ';');
    let rows: Vec<Row> = reader.collect();
    let rows = valid(&rows);
    assert_eq!(rows[0].line, 3);
    assert_eq!(rows[0].fields.description.as_deref(), Some("a,b,c"));
}

#[test]
fn quoted_delimiters_quotes_and_line_breaks() {
    let text = "Customer Number,Company,Notes\n\
                1,\"Berg, Bygg & Co\",\"He said \"\"call first\"\"\nGate 2\"\n\
                2,Acme,plain\n";
    let rows = read(text.as_bytes());
    let rows = valid(&rows);
    assert_eq!(
        rows[0].fields.company_name.as_deref(),
        Some("Berg, Bygg & Co")
    );
    assert_eq!(
        rows[0].fields.description.as_deref(),
        Some("He said \"call first\"\nGate 2")
    );
    assert_eq!(rows[1].line, 4);
}

#[test]
fn crlf_lf_and_mixed_line_endings_read_alike() {
    let lf = SIMPLE.to_owned();
    let crlf = SIMPLE.replace('\n', "\r\n");
    let cr = SIMPLE.replace('\n', "\r");
    let mixed = "Customer Number,First Name,Last Name,Email\r\n\
                 1,Åsa,Öberg,asa@example.com\n\
                 2,Émile,Zola,emile@example.com\r";
    let expected = names(&read(lf.as_bytes()));
    for text in [&crlf, &cr, mixed] {
        assert_eq!(names(&read(text.as_bytes())), expected, "{text:?}");
    }
}

#[test]
fn blank_lines_are_skipped_and_counted() {
    let text = "\n\nCustomer Number,First Name\n\n1,Anna\r\n\r\n,\n  \n2,Bo\n\n";
    let rows = read(text.as_bytes());
    assert_eq!(names(&rows), vec![(5, "Anna".into()), (9, "Bo".into())]);
}

#[test]
fn trailing_empty_columns_are_ignored() {
    let text = "Customer Number,First Name,,\n1,Anna,,\n2,Bo,,,,\n";
    let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    assert!(reader.header().unused().is_empty());
    let rows: Vec<Row> = reader.collect();
    assert_eq!(names(&rows).len(), 2);
}

#[test]
fn a_value_beyond_the_header_is_reported() {
    // "Berg, Anna" without quotes shifts the columns.
    let text = "Customer Number,Full Name,Email\n1,Berg, Anna,anna@example.com\n";
    let rows = read(text.as_bytes());
    let found = errors(&rows[0]);
    let error = found.iter().find(|e| e.code == "unexpected_value").unwrap();
    assert_eq!(error.value.as_deref(), Some("anna@example.com"));
}

#[test]
fn header_case_and_spacing() {
    let text = "  CUSTOMER_NUMBER , first-name,LAST NAME ,e-Mail\n1,Anna,Berg,anna@example.com\n";
    let rows = read(text.as_bytes());
    let row = valid(&rows)[0];
    assert_eq!(row.fields.customer_number, "1");
    assert_eq!(row.fields.email.as_deref(), Some("anna@example.com"));
}

#[test]
fn a_file_needs_a_header_we_know() {
    let empty = ImportReader::new(&b"\r\n\r\n"[..], &options())
        .err()
        .unwrap();
    assert!(matches!(empty, FileError::Empty));
    let unknown = ImportReader::new(&b"foo,bar\n1,2\n"[..], &options())
        .err()
        .unwrap();
    assert!(matches!(unknown, FileError::NoKnownColumns { .. }));
    assert!(unknown.to_string().contains("foo, bar"), "{unknown}");
}

#[test]
fn unterminated_quote_ends_the_file_with_an_error() {
    let text = "Customer Number,First Name,Notes\n1,Anna,ok\n2,Bo,\"never closed\n3,Cy,x\n";
    let rows = read(text.as_bytes());
    assert_eq!(rows.len(), 2);
    assert_eq!(errors(&rows[1])[0].code, "unterminated_quote");
    assert_eq!(errors(&rows[1])[0].line, 3);
}

// ---------------------------------------------------------------- limits

/// A data row of exactly `len` bytes (its line break not counted): number, name, and a long
/// value in a column that is not imported.
fn row_of_len(number: u32, len: usize) -> String {
    let start = format!("{number},Anna,");
    format!("{start}{}\n", "x".repeat(len - start.len()))
}

#[test]
fn a_row_at_the_limit_is_read_and_one_byte_longer_is_its_own_error() {
    let text = format!(
        "Customer Number,First Name,Padding\n{}{}3,Cy,ok\n",
        row_of_len(1, MAX_RECORD_BYTES),
        row_of_len(2, MAX_RECORD_BYTES + 1)
    );
    let mut reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    let at_limit = reader.next_row().unwrap();
    assert_eq!(valid(std::slice::from_ref(&at_limit))[0].line, 2);
    let over = reader.next_row().unwrap();
    let error = &errors(&over)[0];
    assert_eq!((error.line, error.code.as_str()), (3, "record_too_large"));
    assert!(error.message.contains("65536 bytes"), "{}", error.message);
    // The file goes on after the long row.
    let after = reader.next_row().unwrap();
    assert_eq!(names(&[after]), vec![(4, "Cy".into())]);
    assert!(reader.next_row().is_none());
    assert!(reader.failure().is_none());
}

#[test]
fn a_row_made_long_by_a_misplaced_quote_names_the_lines_it_swallowed() {
    // The quote opened on line 3 closes on line 8: lines 3 to 8 are one record, too long.
    let text = "Customer Number,First Name,Notes\n1,Anna,ok\n2,Bo,\"open\n                3,Cy,x\n4,Di,x\n5,Ed,x\n6,Fi,x\n7,Gus,closed\"\n8,Hel,ok\n";
    let options = ImportOptions {
        max_record_bytes: 40,
        ..options()
    };
    let rows = read_with(text.as_bytes(), &options);
    assert_eq!(rows.len(), 3);
    let error = &errors(&rows[1])[0];
    assert_eq!((error.line, error.code.as_str()), (3, "record_too_large"));
    assert!(
        error.message.contains("runs to line 8"),
        "{}",
        error.message
    );
    assert_eq!(names(&rows[2..]), vec![(9, "Hel".into())]);
}

#[test]
fn an_unterminated_quote_at_the_end_of_a_big_file_ends_it_in_bounded_memory() {
    let mut text = String::from("Customer Number,First Name,Notes\n");
    for n in 1..=100 {
        text.push_str(&format!("{n},Name{n},ok\n"));
    }
    // The quote opened on line 102 swallows a megabyte of rows, far over the limit.
    text.push_str("101,Bo,\"never closed\n");
    for n in 102..20_000 {
        text.push_str(&format!("{n},Name{n},ok\n"));
    }
    let rows = read(text.as_bytes());
    assert_eq!(valid(&rows[..100]).len(), 100);
    assert_eq!(rows.len(), 101);
    let error = &errors(&rows[100])[0];
    assert_eq!(
        (error.line, error.code.as_str()),
        (102, "unterminated_quote")
    );
    let mut reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    while reader.next_row().is_some() {}
    assert!(matches!(
        reader.failure(),
        Some(FileError::UnterminatedQuote { line: 102 })
    ));
}

/// `len` bytes of one byte over and over, made up as they are read: a file that is one
/// endless line, without holding it anywhere.
struct Endless {
    prefix: std::io::Cursor<Vec<u8>>,
    left: u64,
    byte: u8,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.prefix.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        buf[..n].fill(self.byte);
        self.left -= n as u64;
        Ok(n)
    }
}

#[test]
fn fifty_mebibytes_without_a_line_break_are_one_row_error_not_fifty_mebibytes_of_memory() {
    const LEN: u64 = 50 << 20;
    for (byte, quoted) in [(b'x', false), (b',', false), (b'x', true)] {
        let prefix = format!(
            "Customer Number,First Name,Notes\n1,Anna,ok\n2,Bo,{}",
            if quoted { "\"" } else { "" }
        );
        let endless = Endless {
            prefix: std::io::Cursor::new(prefix.into_bytes()),
            left: LEN,
            byte,
        };
        let mut reader = ImportReader::new(endless, &options()).unwrap();
        assert!(reader.next_row().unwrap().is_ok());
        let row = reader.next_row().unwrap();
        let error = &errors(&row)[0];
        let expected = if quoted {
            "unterminated_quote"
        } else {
            "record_too_large"
        };
        assert_eq!((error.line, error.code.as_str()), (3, expected));
        assert!(reader.next_row().is_none());
        // Read to the end, so the whole line went through the reader.
        assert!(reader.checkpoint().offset > LEN);
    }
}

#[test]
fn a_header_over_the_limits_fails_the_file() {
    let header_of = |columns: usize| {
        let names: Vec<String> = (0..columns).map(|i| format!("Extra {i}")).collect();
        format!("Customer Number,{}\n1\n", names.join(","))
    };
    // The number column and MAX_COLUMNS - 1 others: read. One more: refused.
    assert!(ImportReader::new(header_of(MAX_COLUMNS - 1).as_bytes(), &options()).is_ok());
    let wide = ImportReader::new(header_of(MAX_COLUMNS).as_bytes(), &options()).err();
    assert!(
        matches!(
            wide,
            Some(FileError::TooManyColumns {
                columns: 201,
                limit: MAX_COLUMNS
            })
        ),
        "{wide:?}"
    );
    // Trailing empty columns, which spreadsheets add, do not count.
    let padded = format!("Customer Number,First Name{}\n1,Anna\n", ",".repeat(500));
    assert_eq!(read(padded.as_bytes()).len(), 1);
    let long = format!("Customer Number,{}\n1\n", "N".repeat(MAX_RECORD_BYTES));
    let long = ImportReader::new(long.as_bytes(), &options()).err();
    assert!(
        matches!(
            long,
            Some(FileError::HeaderTooLarge {
                limit: MAX_RECORD_BYTES
            })
        ),
        "{long:?}"
    );
    let unterminated = ImportReader::new(&b"Customer Number,\"Notes\n1,x\n"[..], &options()).err();
    assert!(
        matches!(unterminated, Some(FileError::UnterminatedQuote { line: 1 })),
        "{unterminated:?}"
    );
}

// ---------------------------------------------------------------- export shapes

#[test]
fn quickbooks_online_export() {
    let text = "Customer,Company,First Name,Last Name,Email,Phone,Mobile,Billing Address Line 1,\
                Billing City,Billing State,Billing ZIP,Billing Country,Shipping Street,Shipping City,\
                Terms,Balance,Currency,Customer Type,Notes\n\
                Berg Bygg AB,Berg Bygg AB,,,info@bergbygg.se,08-123 456 78,,Box 12,Stockholm,,123 21,\
                Sweden,Storgatan 1,Stockholm,Net 30,\"1,234.50\",SEK,Commercial,Key under the mat\n";
    let options = ImportOptions {
        missing_number: MissingNumber::Defer,
        ..ImportOptions::for_country("US")
    };
    let reader = ImportReader::new(text.as_bytes(), &options).unwrap();
    assert_eq!(reader.header().shape, ExportShape::QuickBooksOnline);
    let rows: Vec<Row> = reader.collect();
    let row = valid(&rows)[0];
    let fields = &row.fields;
    assert_eq!(fields.kind, CustomerKind::Company);
    assert_eq!(fields.company_name.as_deref(), Some("Berg Bygg AB"));
    // The billing country (Sweden) reads the national number, not the organisation's US.
    assert_eq!(fields.phone.as_deref(), Some("+46812345678"));
    let invoice = fields.invoice_address.as_ref().unwrap();
    assert_eq!(
        (
            invoice.line1.as_deref(),
            invoice.postal_code.as_deref(),
            invoice.country.as_deref()
        ),
        (Some("Box 12"), Some("123 21"), Some("SE"))
    );
    assert_eq!(
        fields.visiting_address.as_ref().unwrap().line1.as_deref(),
        Some("Storgatan 1")
    );
    assert_eq!(fields.terms.payment_terms, PaymentTerms::Net(30));
    assert_eq!(fields.terms.open_balance, 123_450);
    assert_eq!(fields.terms.currency, "SEK");
    assert_eq!(fields.tags, vec!["Commercial".to_owned()]);
    assert_eq!(fields.description.as_deref(), Some("Key under the mat"));
    let quickbooks = ExternalRef {
        system: AccountingSystem::Quickbooks,
        id: "Berg Bygg AB".into(),
    };
    assert_eq!(fields.external_refs, vec![quickbooks.clone()]);
    assert!(row.needs_number);
    assert_eq!(row.key, RowKey::External(quickbooks));
}

#[test]
fn quickbooks_desktop_list() {
    let text = "Customer,Company Name,Mr./Ms./...,First Name,M.I.,Last Name,Main Phone,Mobile,\
                Main Email,Bill to 1,Bill to 2,Bill to 3,Bill to 4,Ship to 1,Ship to 2,Ship to 3,\
                Terms,Balance Total,Credit Limit,Account No.\n\
                Smith Plumbing,,Mr.,John,Q,Smith,(201) 555-0123,,john@smithplumbing.com,\
                John Q Smith,12 Main Street,Suite 4,\"Springfield, IL 62704\",\
                Smith Plumbing,99 Elm Road,\"Shelbyville, IL 62565\",Due on receipt,(250.00),\
                \"10,000.00\",C-1001\n";
    let reader = ImportReader::new(text.as_bytes(), &ImportOptions::for_country("US")).unwrap();
    assert_eq!(reader.header().shape, ExportShape::QuickBooksDesktop);
    assert_eq!(reader.header().unused(), vec!["Mr./Ms./..."]);
    let rows: Vec<Row> = reader.collect();
    let row = valid(&rows)[0];
    let fields = &row.fields;
    assert_eq!(row.key, RowKey::Number("C-1001".into()));
    assert_eq!(fields.kind, CustomerKind::Person);
    assert_eq!(fields.first_name.as_deref(), Some("John Q"));
    assert_eq!(fields.phone.as_deref(), Some("+12015550123"));
    let invoice = fields.invoice_address.as_ref().unwrap();
    assert_eq!(invoice.line1.as_deref(), Some("12 Main Street"));
    assert_eq!(invoice.line2.as_deref(), Some("Suite 4"));
    assert_eq!(invoice.city.as_deref(), Some("Springfield"));
    assert_eq!(invoice.region.as_deref(), Some("IL"));
    assert_eq!(invoice.postal_code.as_deref(), Some("62704"));
    let visiting = fields.visiting_address.as_ref().unwrap();
    // "Smith Plumbing" is the display name: the addressee line, not a street.
    assert_eq!(visiting.line1.as_deref(), Some("99 Elm Road"));
    assert_eq!(visiting.city.as_deref(), Some("Shelbyville"));
    assert_eq!(fields.terms.payment_terms, PaymentTerms::DueOnReceipt);
    assert_eq!(fields.terms.open_balance, -25_000);
    assert_eq!(fields.terms.credit_limit, Some(1_000_000));
    assert_eq!(fields.external_refs[0].id, "Smith Plumbing");
}

#[test]
fn sage_50_list() {
    let text = "A/C,Name,Street1,Street2,Town,County,Post Code,Country Code,Contact Name,Telephone,\
                Mobile,E-mail,Credit Limit,Balance,Payment Due Days,Currency\n\
                ACME01,Acme Ltd,1 High Street,,London,,SW1A 1AA,GB,John Smith,020 7946 0018,,\
                accounts@acme.co.uk,\"5,000.00\",(120.50),30,GBP\n";
    let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    assert_eq!(reader.header().shape, ExportShape::Sage50);
    let rows: Vec<Row> = reader.collect();
    let fields = &valid(&rows)[0].fields;
    assert_eq!(fields.customer_number, "ACME01");
    assert_eq!(fields.kind, CustomerKind::Company);
    assert_eq!(fields.company_name.as_deref(), Some("Acme Ltd"));
    assert_eq!(fields.contacts[0].first_name.as_deref(), Some("John"));
    assert_eq!(fields.contacts[0].last_name.as_deref(), Some("Smith"));
    // GB from the row, not the organisation's SE.
    assert_eq!(fields.phone.as_deref(), Some("+442079460018"));
    let invoice = fields.invoice_address.as_ref().unwrap();
    assert_eq!(invoice.city.as_deref(), Some("London"));
    assert_eq!(invoice.postal_code.as_deref(), Some("SW1A 1AA"));
    assert_eq!(fields.visiting_address, None);
    assert_eq!(fields.terms.credit_limit, Some(500_000));
    assert_eq!(fields.terms.open_balance, -12_050);
    assert_eq!(fields.terms.payment_terms, PaymentTerms::Net(30));
    assert_eq!(
        fields.external_refs,
        vec![ExternalRef {
            system: AccountingSystem::Sage,
            id: "ACME01".into()
        }]
    );
}

#[test]
fn visma_export() {
    let text = "Kundnummer;Namn;Organisationsnummer;Adress;Postnummer;Ort;Land;Telefon;Mobil;\
                E-post;Kreditgräns;Betalningsvillkor\n\
                1001;Bergs Måleri AB;556677-8899;Storgatan 1;123 45;Stockholm;Sverige;\
                08-123 456 78;070-123 45 67;info@bergsmaleri.se;10 000,00;30 dagar\n";
    let bytes = windows_1252(text);
    let reader = ImportReader::new(&bytes[..], &ImportOptions::for_country("US")).unwrap();
    assert_eq!(reader.header().shape, ExportShape::Visma);
    assert!(reader.header().unused().is_empty());
    let rows: Vec<Row> = reader.collect();
    let fields = &valid(&rows)[0].fields;
    // Checked as Swedish by the row's country, although the organisation's is US.
    assert_eq!(fields.organisation_number.as_deref(), Some("556677-8899"));
    assert_eq!(fields.organisation_number_country.as_deref(), Some("SE"));
    assert_eq!(fields.kind, CustomerKind::Company);
    assert_eq!(fields.company_name.as_deref(), Some("Bergs Måleri AB"));
    assert_eq!(fields.mobile.as_deref(), Some("+46701234567"));
    assert_eq!(
        fields.invoice_address.as_ref().unwrap().country.as_deref(),
        Some("SE")
    );
    assert_eq!(fields.terms.credit_limit, Some(1_000_000));
    assert_eq!(fields.terms.payment_terms, PaymentTerms::Net(30));
    assert_eq!(fields.external_refs[0].system, AccountingSystem::Visma);
}

#[test]
fn generic_field_service_export() {
    let text = "Customer Number,External ID,First Name,Last Name,Company,Email,Mobile,Street,City,\
                Postal Code,Country,Language,Tags,On Hold,VIP,Payment Type,Website\n\
                10001,crm-77,Anna,Berg,,anna@example.com,070-123 45 67,Storgatan 1,Lund,222 22,SE,\
                sv,\"garden; priority\",nej,ja,faktura,example.com\n";
    let reader = ImportReader::new(text.as_bytes(), &options()).unwrap();
    assert_eq!(reader.header().shape, ExportShape::Generic);
    assert_eq!(reader.header().unused(), vec!["Website"]);
    let rows: Vec<Row> = reader.collect();
    let row = valid(&rows)[0];
    let fields = &row.fields;
    assert_eq!(row.key, RowKey::Number("10001".into()));
    assert_eq!(
        fields.visiting_address.as_ref().unwrap().city.as_deref(),
        Some("Lund")
    );
    assert_eq!(fields.invoice_address, None);
    assert_eq!(fields.language.as_deref(), Some("sv"));
    assert_eq!(
        fields.tags,
        vec!["garden".to_owned(), "priority".to_owned()]
    );
    assert!(!fields.on_hold);
    assert_eq!(fields.tier, Tier::Vip);
    assert_eq!(fields.terms.payment_type, domain::PaymentType::Account);
    assert_eq!(fields.external_refs[0].system, AccountingSystem::Other);
    assert_eq!(fields.external_refs[0].id, "crm-77");
}

// ---------------------------------------------------------------- values

#[test]
fn decimal_comma_amounts() {
    let text = "Customer Number;Company;Credit Limit;Balance\n\
                1;Acme;1 234,50;12,5\n2;Bolaget;\"1.234.567,89 kr\";-0,75\n";
    let rows = read(text.as_bytes());
    let rows = valid(&rows);
    assert_eq!(rows[0].fields.terms.credit_limit, Some(123_450));
    assert_eq!(rows[0].fields.terms.open_balance, 1_250);
    assert_eq!(rows[1].fields.terms.credit_limit, Some(123_456_789));
    assert_eq!(rows[1].fields.terms.open_balance, -75);
}

#[test]
fn parentheses_are_negative() {
    let text = "Customer Number,Company,Balance,Credit Limit\n1,Acme,\"($1,234.56)\",(100)\n";
    let rows = read(text.as_bytes());
    let found = errors(&rows[0]);
    // The balance reads as negative; a negative credit limit is the domain's to refuse.
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, "negative_amount");
    assert_eq!(found[0].column.as_deref(), Some("Credit Limit"));
    let text = "Customer Number;Company;Balance\n1;Acme;($1,234.56)\n";
    assert_eq!(
        valid(&read(text.as_bytes()))[0].fields.terms.open_balance,
        -123_456
    );
}

#[test]
fn full_name_is_split() {
    let text = "Customer Number,Full Name\n1,Anna Maria Berg\n2,\"Ek, Bo\"\n3,Cher\n";
    let rows = read(text.as_bytes());
    let rows = valid(&rows);
    let name = |i: usize| {
        (
            rows[i].fields.first_name.clone(),
            rows[i].fields.last_name.clone(),
        )
    };
    assert_eq!(name(0), (Some("Anna Maria".into()), Some("Berg".into())));
    assert_eq!(name(1), (Some("Bo".into()), Some("Ek".into())));
    assert_eq!(name(2), (Some("Cher".into()), None));
}

#[test]
fn company_only_rows_are_companies() {
    let text = "Customer Number,First Name,Last Name,Company\n1,,,Acme AB\n2,Anna,Berg,Acme AB\n";
    let rows = read(text.as_bytes());
    let rows = valid(&rows);
    assert_eq!(rows[0].fields.kind, CustomerKind::Company);
    assert_eq!(rows[1].fields.kind, CustomerKind::Person);
}

#[test]
fn national_phone_with_a_country_column() {
    let text = "Customer Number,First Name,Phone,Mobile,Country\n\
                1,Anna,08-123 456 78,070-123 45 67,SE\n\
                2,Bo,(201) 555-0123,,US\n\
                3,Cy,070-123 45 67,,\n";
    // The organisation is in Norway, so the third row (no country) is read as Norwegian.
    let rows = read_with(text.as_bytes(), &ImportOptions::for_country("NO"));
    assert_eq!(valid(&rows[..2]).len(), 2);
    let row = valid(&rows[..1])[0];
    assert_eq!(row.fields.phone.as_deref(), Some("+46812345678"));
    assert_eq!(row.fields.mobile.as_deref(), Some("+46701234567"));
    assert_eq!(
        valid(&rows[1..2])[0].fields.phone.as_deref(),
        Some("+12015550123")
    );
    let error = &errors(&rows[2])[0];
    assert_eq!(
        (error.column.as_deref(), error.code.as_str()),
        (Some("Phone"), "invalid_phone")
    );
}

#[test]
fn unreadable_values_are_reported_with_the_rest() {
    let text = "Customer Number,First Name,Email,On Hold,Terms,Credit Limit\n\
                1,Anna,not-an-email,maybe,End of month,12 34\n";
    let rows = read(text.as_bytes());
    let found: Vec<_> = errors(&rows[0])
        .iter()
        .map(|e| {
            (
                e.column.as_deref(),
                e.field.as_deref(),
                e.code.as_str(),
                e.value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                Some("Credit Limit"),
                Some("/terms/creditLimit"),
                "invalid_amount",
                Some("12 34")
            ),
            (
                Some("Terms"),
                Some("/terms/paymentTerms"),
                "invalid_payment_terms",
                Some("End of month")
            ),
            (
                Some("On Hold"),
                Some("/onHold"),
                "invalid_boolean",
                Some("maybe")
            ),
            (
                Some("Email"),
                Some("/email"),
                "invalid_email",
                Some("not-an-email")
            ),
        ]
    );
}

// ---------------------------------------------------------------- rows and lines

#[test]
fn good_and_bad_rows_with_their_lines() {
    let text = "Customer Number,First Name,Last Name,E-mail,Notes\r\n\
                1,Anna,Berg,anna@example.com,\"first line\r\nsecond line\"\r\n\
                2,Bo,Ek,not-an-email,\r\n\
                \r\n\
                3,,,,\r\n\
                4,Cy,Dahl,cy@example.com,\"a\nb\nc\"\n\
                ,Di,Fors,di@example.com,x\n\
                6,Ea,Grip,ea@example.com,\n";
    let rows = read(text.as_bytes());
    let lines: Vec<(u64, bool)> = rows
        .iter()
        .map(|row| match row {
            Ok(row) => (row.line, true),
            Err(errors) => (errors[0].line, false),
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (2, true),
            (4, false),
            (6, false),
            (7, true),
            (10, false),
            (11, true)
        ]
    );
    let email = &errors(&rows[1])[0];
    assert_eq!(email.column.as_deref(), Some("E-mail"));
    assert_eq!(email.field.as_deref(), Some("/email"));
    let no_name = &errors(&rows[2])[0];
    assert_eq!(
        (
            no_name.column.as_deref(),
            no_name.field.as_deref(),
            no_name.code.as_str()
        ),
        (Some("First Name"), Some("/firstName"), "required")
    );
    let no_number = &errors(&rows[4])[0];
    assert_eq!(
        (no_number.column.as_deref(), no_number.code.as_str()),
        (Some("Customer Number"), "required")
    );
}

#[test]
fn duplicates_in_one_file() {
    let text = "Customer Number,First Name\nab-1,Anna\n2,Bo\nAB-1,Cy\n2,Di\n3,Ea\n";
    let rows = read(text.as_bytes());
    assert_eq!(
        names(&rows[..2]),
        vec![(2, "Anna".into()), (3, "Bo".into())]
    );
    let duplicate = &errors(&rows[2])[0];
    assert_eq!(duplicate.code, "duplicate_in_file");
    assert_eq!(duplicate.line, 4);
    assert_eq!(duplicate.column.as_deref(), Some("Customer Number"));
    assert!(
        duplicate.message.contains("line 2"),
        "{}",
        duplicate.message
    );
    assert!(errors(&rows[3])[0].message.contains("line 3"));
    assert!(rows[4].is_ok());
    // Numbers beyond ASCII are compared ignoring case too.
    let text = "Customer Number,First Name\nöb-1,Anna\nÖB-1,Bo\n";
    let rows = read(text.as_bytes());
    assert_eq!(errors(&rows[1])[0].code, "duplicate_in_file");
}

#[test]
fn rows_without_a_number() {
    let text = "First Name,Last Name,External ID\nAnna,Berg,\nBo,Ek,x-1\nCy,Dahl,x-1\n";
    // The domain requires a number.
    let refused = read(text.as_bytes());
    assert_eq!(errors(&refused[0])[0].code, "required");
    // Deferred: numbered by the caller; keyed by external id where there is one.
    let options = ImportOptions {
        missing_number: MissingNumber::Defer,
        ..options()
    };
    let rows = read_with(text.as_bytes(), &options);
    let first = valid(&rows[..1])[0];
    assert!(first.needs_number);
    assert_eq!(first.fields.customer_number, "");
    assert_eq!(first.key, RowKey::None);
    let second = valid(&rows[1..2])[0];
    assert_eq!(
        second.key,
        RowKey::External(ExternalRef {
            system: AccountingSystem::Other,
            id: "x-1".into()
        })
    );
    assert_eq!(errors(&rows[2])[0].code, "duplicate_in_file");
}

#[test]
fn organisation_rules_apply() {
    let mut options = options();
    options.validation.number_rules.letters = false;
    options.validation.default_currency = "SEK".into();
    let text = "Customer Number,First Name\nA-1,Anna\n2,Bo\n";
    let rows = read_with(text.as_bytes(), &options);
    assert_eq!(errors(&rows[0])[0].code, "invalid_customer_number");
    assert_eq!(valid(&rows[1..])[0].fields.terms.currency, "SEK");
}

// ---------------------------------------------------------------- output

#[test]
fn formulas_are_escaped() {
    for (cell, escaped) in [
        ("=1+1", "'=1+1"),
        ("+46 70", "'+46 70"),
        ("-5", "-5"),
        ("-0.75", "-0.75"),
        ("-5+1", "'-5+1"),
        ("-.5", "'-.5"),
        ("-1.", "'-1."),
        ("-", "'-"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Anna", "Anna"),
        ("", ""),
        ("a=b", "a=b"),
    ] {
        assert_eq!(escape_formula(cell), escaped, "{cell:?}");
    }
}

#[test]
fn error_report_escapes_every_cell() {
    let text =
        "Customer Number,=HYPERLINK(\"http://x\"),Email\n1,x,=cmd|' /C calc'!A0\n@2,y,@SUM(1)\n";
    let rows = read(text.as_bytes());
    let mut report = ErrorReportWriter::new(Vec::new()).unwrap();
    for row in &rows {
        report.write_all(errors(row)).unwrap();
    }
    let bytes = report.into_inner().unwrap();
    let written = String::from_utf8(bytes).unwrap();
    assert!(
        written.starts_with("\u{feff}line,column,field,code,message,value\n"),
        "{written}"
    );
    // Read it back as a spreadsheet would and check that no cell starts a formula.
    let mut csv = csv::Reader::from_reader(written.trim_start_matches('\u{feff}').as_bytes());
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert!(records.len() >= 2);
    for record in &records {
        for cell in record {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }
    assert!(
        records.iter().any(|r| &r[5] == "'=cmd|' /C calc'!A0"),
        "{records:?}"
    );
    assert!(records.iter().any(|r| &r[5] == "'@2"), "{records:?}");
}

#[test]
fn template_lists_our_columns_and_its_example_row_is_refused_until_changed() {
    let template = template_csv();
    assert!(template.starts_with('\u{feff}'));
    assert_eq!(template.lines().count(), 2);
    for line in template.lines() {
        for cell in line.split(',') {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
        }
    }
    let reader = ImportReader::new(template.as_bytes(), &options()).unwrap();
    assert_eq!(reader.header().shape, ExportShape::Generic);
    assert!(
        reader.header().unused().is_empty(),
        "{:?}",
        reader.header().unused()
    );
    let mapped = reader
        .header()
        .columns
        .iter()
        .filter(|c| c.column.is_some())
        .count();
    assert_eq!(mapped, template::template_columns().count());
    let rows: Vec<Row> = reader.collect();
    let refused = rows[0].as_ref().expect_err("the example row is refused");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].code, "example_row");
    assert_eq!(refused[0].column.as_deref(), Some("Customer Number"));
    assert_eq!(refused[0].value.as_deref(), Some(EXAMPLE_NUMBER));
    // Given a real number, the example is a valid customer: every example value reads.
    let filled = template.replacen(EXAMPLE_NUMBER, "10001", 1);
    let rows = read(filled.as_bytes());
    let row = valid(&rows)[0];
    assert_eq!(row.fields.customer_number, "10001");
    assert_eq!(row.fields.terms.credit_limit, Some(500_000));
    assert_eq!(row.fields.mobile.as_deref(), Some("+46701234567"));
}

// ---------------------------------------------------------------- checkpoints

/// Hands out at most `chunk` bytes per read, as a network stream does.
struct Trickle<'a> {
    bytes: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Reads `bytes` in one go, then for every split point N reads N rows, takes the checkpoint
/// and snapshot (through JSON, as a Lambda would store them), and resumes over the bytes from
/// the offset: the rows must be the same.
fn assert_resume_gives_the_same_rows(bytes: &[u8]) {
    let options = options();
    let whole: Vec<Row> = ImportReader::new(Trickle { bytes, chunk: 7 }, &options)
        .unwrap()
        .collect();
    assert!(whole.len() >= 4, "{whole:#?}");
    for split in 0..=whole.len() {
        let mut first = ImportReader::new(bytes, &options).unwrap();
        let mut rows: Vec<Row> = (&mut first).take(split).collect();
        let checkpoint: Checkpoint =
            serde_json::from_str(&serde_json::to_string(&first.checkpoint()).unwrap()).unwrap();
        let snapshot: HeaderSnapshot =
            serde_json::from_str(&serde_json::to_string(&first.snapshot()).unwrap()).unwrap();
        let seen: SeenKeys =
            serde_json::from_str(&serde_json::to_string(first.seen_keys()).unwrap()).unwrap();
        let rest = Trickle {
            bytes: &bytes[checkpoint.offset as usize..],
            chunk: 5,
        };
        let resumed = ImportReader::resume(rest, &snapshot, checkpoint, &options)
            .unwrap()
            .with_seen_keys(seen);
        rows.extend(resumed);
        assert_eq!(rows, whole, "split after {split} rows");
    }
}

/// Fails once, after `fail_at` bytes, like a dropped connection.
struct Flaky<'a> {
    bytes: &'a [u8],
    at: usize,
    fail_at: usize,
}

impl Read for Flaky<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.fail_at {
            return Err(std::io::Error::other("connection reset"));
        }
        let n = buf.len().min(self.fail_at - self.at).min(3);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_read_failure_mid_record_resumes_at_that_record() {
    let bytes = RESUME_FIXTURE.as_bytes();
    let whole = read(bytes);
    // Fail inside the multi-line note of the third data row, after the sample was read.
    let fail_at = RESUME_FIXTURE.find("line\nnote").unwrap();
    let mut options = options();
    options.max_record_bytes = 1 << 20;
    let flaky = Flaky {
        bytes,
        at: 0,
        fail_at,
    };
    // The sample read fails too when the failure is in the first 64 KiB: start the reader
    // over a working prefix, as a retried S3 read would.
    let Err(FileError::Io(_)) = ImportReader::new(flaky, &options) else {
        panic!("the sample read should fail");
    };
    let mut first = ImportReader::new(&bytes[..fail_at], &options).unwrap();
    let mut rows: Vec<Row> = (&mut first).take(2).collect();
    let at = first.checkpoint();
    // The third row is cut off by the end of the prefix: its record is incomplete.
    assert!(at.offset < fail_at as u64);
    let snapshot = first.snapshot();
    let mut flaky = ImportReader::resume(
        Flaky {
            bytes: &bytes[at.offset as usize..],
            at: 0,
            fail_at: fail_at - at.offset as usize,
        },
        &snapshot,
        at,
        &options,
    )
    .unwrap()
    .with_seen_keys(first.seen_keys().clone());
    let failed = flaky.next_row().unwrap();
    assert_eq!(errors(&failed)[0].code, "read_failed");
    assert!(matches!(flaky.failure(), Some(FileError::Io(_))));
    // The checkpoint did not move into the broken record.
    assert_eq!(flaky.checkpoint(), at);
    let retried = ImportReader::resume(&bytes[at.offset as usize..], &snapshot, at, &options)
        .unwrap()
        .with_seen_keys(flaky.seen_keys().clone());
    rows.extend(retried);
    assert_eq!(rows, whole);
}

const RESUME_FIXTURE: &str = "Customer Number,First Name,Last Name,Email,Notes\r\n\
    1,Åsa,Öberg,asa@example.com,\"two\r\nlines\"\r\n\
    \r\n\
    2,Émile,Zola,not-an-email,\"quote \"\" and, comma\"\n\
    3,Bo,Ek,bo@example.com,\"three\nline\nnote\"\r\n\
    1,Dup,Licate,dup@example.com,\r\n\
    4,Cy,Dahl,cy@example.com,\r\
    5,Di,Fors,di@example.com,last";

#[test]
fn resume_with_quoted_newlines_and_crlf() {
    assert_resume_gives_the_same_rows(RESUME_FIXTURE.as_bytes());
}

#[test]
fn resume_with_bom() {
    let bytes = [b"\xEF\xBB\xBF", RESUME_FIXTURE.as_bytes()].concat();
    assert_resume_gives_the_same_rows(&bytes);
}

#[test]
fn resume_with_utf16_in_both_byte_orders() {
    // Checkpoints are offsets in the UTF-16 file, so that a resumed invocation reads it from
    // there; the text has characters of every UTF-8 length to keep the two lengths apart.
    let text = RESUME_FIXTURE.replace("Ek", "Ek Åström 🔧 €");
    for big_endian in [false, true] {
        assert_resume_gives_the_same_rows(&utf16(&text, big_endian));
    }
}

#[test]
fn resume_with_windows_1252() {
    let bytes = windows_1252(&RESUME_FIXTURE.replace(',', ";"));
    assert_resume_gives_the_same_rows(&bytes);
}

#[test]
fn resume_carries_the_duplicate_check_only_with_the_seen_keys() {
    let bytes = RESUME_FIXTURE.as_bytes();
    let options = options();
    let mut first = ImportReader::new(bytes, &options).unwrap();
    let _: Vec<Row> = (&mut first).take(2).collect();
    let at = first.checkpoint();
    let resume = || {
        ImportReader::resume(
            &bytes[at.offset as usize..],
            &first.snapshot(),
            at,
            &options,
        )
        .unwrap()
    };
    let forgetful: Vec<Row> = resume().collect();
    assert!(forgetful.iter().all(|row| row.is_ok()));
    let careful: Vec<Row> = resume().with_seen_keys(first.seen_keys().clone()).collect();
    assert_eq!(errors(&careful[1])[0].code, "duplicate_in_file");
}

#[test]
fn snapshot_is_small() {
    let reader = ImportReader::new(RESUME_FIXTURE.as_bytes(), &options()).unwrap();
    let json = serde_json::to_string(&reader.snapshot()).unwrap();
    assert!(json.len() < 400, "{json}");
}

// ---------------------------------------------------------------- organisation settings

fn custom_field(key: &str, label: &str, kind: domain::CustomFieldType) -> domain::CustomFieldDef {
    domain::CustomFieldDef {
        key: key.into(),
        label: label.into(),
        kind,
        required: false,
        options: Vec::new(),
        retired: false,
    }
}

#[test]
fn custom_field_columns() {
    use domain::CustomFieldType;
    let mut options = options();
    options.validation.custom_fields = vec![
        domain::CustomFieldDef {
            options: vec!["Gold".into(), "Silver".into()],
            ..custom_field("contract_level", "Contract level", CustomFieldType::Choice)
        },
        custom_field("has_dog", "Has dog", CustomFieldType::YesNo),
        domain::CustomFieldDef {
            required: true,
            ..custom_field("area", "Area (m²)", CustomFieldType::Number)
        },
    ];
    let text = "Customer Number,First Name,CONTRACT LEVEL,has_dog,Area (m²)\n\
                1,Anna,gold,ja,\"1 234,5\"\n\
                2,Bo,Bronze,maybe,\n";
    let reader = ImportReader::new(text.as_bytes(), &options).unwrap();
    assert!(reader.header().unused().is_empty());
    assert_eq!(
        reader.header().columns[3].custom_field.as_deref(),
        Some("has_dog")
    );
    let rows: Vec<Row> = reader.collect();
    let custom = &valid(&rows[..1])[0].fields.custom_fields;
    assert_eq!(custom["contract_level"], serde_json::json!("Gold"));
    assert_eq!(custom["has_dog"], serde_json::json!(true));
    assert_eq!(custom["area"], serde_json::json!(1234.5));
    let found: Vec<_> = errors(&rows[1])
        .iter()
        .map(|e| (e.column.as_deref(), e.code.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            (Some("CONTRACT LEVEL"), "invalid_custom_value"),
            (Some("has_dog"), "invalid_custom_value"),
            (Some("Area (m²)"), "required_custom_field"),
        ]
    );
}

#[test]
fn required_channels_name_their_column() {
    let mut options = options();
    options.validation.required_channels = vec![domain::Channel::Email];
    let text = "Customer Number,First Name,E-post\n1,Anna,\n2,Bo,bo@example.com\n";
    let rows = read_with(text.as_bytes(), &options);
    let error = &errors(&rows[0])[0];
    assert_eq!(
        (error.column.as_deref(), error.code.as_str()),
        (Some("E-post"), "required_channel")
    );
    assert!(rows[1].is_ok());
}

// ---------------------------------------------------------------- exports of other systems

/// A generic CRM export (the shape of issue 18): countries by name, numbered phone columns in
/// each country's own style, extensions, and the CRM's own id.
const GENERIC_CRM: &str = include_str!("../../../tests/fixtures/generic-crm-customers.csv");

#[test]
fn a_generic_crm_export_reads_every_row_with_its_phones_id_and_country() {
    let options = ImportOptions {
        missing_number: MissingNumber::Defer,
        ..options()
    };
    let rows = read_with(GENERIC_CRM.as_bytes(), &options);
    let rows = valid(&rows);
    // Each row as "id country phone extension mobile", "-" for none.
    let seen: Vec<String> = rows
        .iter()
        .map(|row| {
            let f = &row.fields;
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            let country = f.visiting_address.as_ref().and_then(|a| a.country.clone());
            [
                f.external_refs[0].id.clone(),
                or_dash(&country),
                or_dash(&f.phone),
                or_dash(&f.phone_extension),
                or_dash(&f.mobile),
            ]
            .join(" ")
        })
        .collect();
    let expected = [
        "DD37Cf93aecA6Dc US +12015550147 718 +12015550123",
        "1Ef7b82A4CAAD10 CL +56223456789 - +56961234567",
        "6F94879bDAfE5a6 BG +35929876543 - +359881234567",
        "5Cef8BFA16c5e3c BA +38733213456 - -",
        "053d585Ab6b3159 SK +421254435678 - +421905123456",
        "2d08FB17EE273F4 CI - - -",
        "EA4d384DfDbBf77 KR +8223123456 - +821012345678",
        "0e04AFde9f225dE SE +46812345678 12 +46701234567",
        "C2dE4dEEc489ae0 CA +16139924793 4410 -",
        "8C2811a503C7c5a TL - - -",
    ];
    assert_eq!(seen, expected);
    for row in &rows {
        assert!(row.needs_number, "numbered automatically");
        assert_eq!(row.fields.external_refs[0].system, AccountingSystem::Other);
        assert!(matches!(row.key, RowKey::External(_)), "{:?}", row.key);
    }
}

/// The rows of a faker-made export as it is (datablist's customers sample): US-style numbers
/// on rows of any country, unassigned area codes. The customers are read; the numbers no
/// row's country reads are left out and counted, not the row's error. An explicit phone
/// column stays strict.
#[test]
fn unreadable_numbers_of_guessed_phone_columns_are_left_out_not_the_rows_error() {
    let csv = "Customer Id,First Name,Last Name,Country,Phone 1,Phone 2\n\
               DD37Cf93aecA6Dc,Sheryl,Baxter,Chile,229.077.5154,397.884.0519x718\n\
               1Ef7b82A4CAAD10,Preston,Lozano,Chile,+56 9 6123 4567,(496)978-3969x58947\n";
    let options = ImportOptions {
        missing_number: MissingNumber::Defer,
        ..options()
    };
    let rows = read_with(csv.as_bytes(), &options);
    let rows = valid(&rows);
    assert_eq!(rows.len(), 2, "both customers are read");
    assert_eq!(rows[0].phones_left_out, 2);
    assert_eq!(
        (&rows[0].fields.phone, &rows[0].fields.mobile),
        (&None, &None)
    );
    assert_eq!(rows[1].phones_left_out, 1);
    let kept = [&rows[1].fields.phone, &rows[1].fields.mobile];
    assert!(
        kept.iter().any(|n| n.as_deref() == Some("+56961234567")),
        "the readable number is kept: {kept:?}"
    );

    let strict = read(b"Customer Number,First Name,Country,Phone\n1,Anna,Chile,229.077.5154\n");
    assert_eq!(errors(&strict[0])[0].field.as_deref(), Some("/phone"));
}

#[test]
fn an_unknown_country_is_the_rows_error_naming_the_value() {
    let rows = read(b"Customer Number,First Name,Country\n1,Anna,Narnia\n2,Bo,Sverige\n");
    let errors = errors(&rows[0]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "unknown_country");
    assert_eq!(errors[0].column.as_deref(), Some("Country"));
    assert!(
        errors[0].message.contains("\"Narnia\""),
        "{}",
        errors[0].message
    );
    assert!(rows[1].is_ok());
}

#[test]
fn a_mapping_override_is_applied_to_the_header() {
    let wanted: std::collections::BTreeMap<String, String> = [
        ("Kontakt".to_owned(), "email".to_owned()),
        ("Nr".to_owned(), "customerNumber".to_owned()),
    ]
    .into();
    let options = ImportOptions {
        column_override: ColumnOverride::parse(&wanted, &[]).unwrap(),
        ..options()
    };
    let rows = read_with(b"Nr,Namn,Kontakt\n7,Anna Berg,anna@example.com\n", &options);
    let row = &valid(&rows)[0];
    assert_eq!(row.fields.customer_number, "7");
    assert_eq!(row.fields.email.as_deref(), Some("anna@example.com"));
    let missing: std::collections::BTreeMap<String, String> =
        [("Fax".to_owned(), "phone".to_owned())].into();
    let options = ImportOptions {
        column_override: ColumnOverride::parse(&missing, &[]).unwrap(),
        ..options
    };
    let refused = ImportReader::new(&b"Nr,Namn\n1,A\n"[..], &options).err();
    assert!(
        matches!(&refused, Some(FileError::MappedColumnMissing(name)) if name == "Fax"),
        "{refused:?}"
    );
}

#[test]
fn organisation_numbers_are_checked_by_the_row_country_or_their_vat_prefix() {
    let text = "Kundnummer;Namn;Organisationsnummer;Land\n\
                1;Bergs Måleri AB;5560125790;SE\n\
                2;Nordic AS;NO 923 609 016 MVA;SE\n\
                3;Fel AB;556012-5791;SE\n\
                4;Dansk A/S;24256790;DK\n";
    let rows = read_with(text.as_bytes(), &options());
    let fields = |i: usize| match &rows[i] {
        Ok(row) => row.fields.clone(),
        Err(e) => panic!("row {i}: {e:?}"),
    };
    assert_eq!(
        fields(0).organisation_number.as_deref(),
        Some("556012-5790")
    );
    assert_eq!(
        fields(1).organisation_number.as_deref(),
        Some("NO923609016MVA")
    );
    assert_eq!(fields(1).organisation_number_country.as_deref(), Some("NO"));
    let refused = errors(&rows[2]);
    assert_eq!(
        refused[0].code, "invalid_organisation_number",
        "{refused:?}"
    );
    assert_eq!(refused[0].column.as_deref(), Some("Organisationsnummer"));
    assert_eq!(fields(3).organisation_number_country.as_deref(), Some("DK"));
}
