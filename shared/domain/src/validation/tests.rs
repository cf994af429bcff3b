use super::*;

fn ctx() -> ValidationContext {
    ValidationContext {
        default_country: Some("SE".into()),
        ..Default::default()
    }
}

fn person() -> CustomerInput {
    CustomerInput {
        customer_number: Some("10001".into()),
        first_name: Some("Anna".into()),
        ..Default::default()
    }
}

fn valid(input: CustomerInput) -> CustomerFields {
    match validate_customer(input, &ctx()) {
        Ok(fields) => fields,
        Err(errors) => panic!("expected valid, got {errors}"),
    }
}

fn invalid(input: CustomerInput) -> ValidationErrors {
    validate_customer(input, &ctx()).expect_err("expected validation errors")
}

/// Asserts the input fails with exactly this one error.
fn assert_only(input: CustomerInput, field: &str, code: &str) {
    let errors = invalid(input);
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(found, [(field, code)], "{errors}");
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn article(number: &str, quantity: &str) -> DefaultArticle {
    DefaultArticle {
        article_number: number.into(),
        description: None,
        kind: ArticleKind::Service,
        article_type: ArticleType::Item,
        quantity: quantity.into(),
        unit: None,
        unit_price: None,
    }
}

fn contact(name: &str) -> ContactInput {
    ContactInput {
        first_name: Some(name.into()),
        ..Default::default()
    }
}

fn terms(terms: TermsInput) -> CustomerInput {
    CustomerInput {
        terms: Some(terms),
        ..person()
    }
}

// --- customer number ---

#[test]
fn customer_number_is_trimmed() {
    assert_eq!(
        validate_customer_number("  K-10/2_a.b ", &NumberRules::default()).unwrap(),
        "K-10/2_a.b"
    );
}

#[test]
fn customer_number_is_required() {
    assert_only(
        CustomerInput {
            customer_number: None,
            ..person()
        },
        "/customerNumber",
        "required",
    );
    assert_only(
        CustomerInput {
            customer_number: Some("   ".into()),
            ..person()
        },
        "/customerNumber",
        "required",
    );
}

#[test]
fn customer_number_length_follows_the_rules() {
    let rules = NumberRules {
        min_len: 4,
        max_len: 6,
        ..Default::default()
    };
    assert_eq!(validate_customer_number("1234", &rules).unwrap(), "1234");
    assert_eq!(
        validate_customer_number("123456", &rules).unwrap(),
        "123456"
    );
    assert_eq!(
        validate_customer_number("123", &rules).unwrap_err().code,
        "invalid_customer_number"
    );
    assert_eq!(
        validate_customer_number("1234567", &rules)
            .unwrap_err()
            .code,
        "too_long"
    );
    assert_eq!(
        validate_customer_number(&long(31), &NumberRules::default())
            .unwrap_err()
            .code,
        "too_long"
    );
}

#[test]
fn customer_number_refuses_characters_outside_the_rules() {
    let rules = NumberRules::default();
    for bad in ["K 1", "K#1", "Ö1", "1+1", "a,b"] {
        let err = validate_customer_number(bad, &rules).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.code.as_str()),
            ("/customerNumber", "invalid_customer_number"),
            "{bad}"
        );
    }
}

#[test]
fn customer_number_punctuation_is_configurable() {
    let rules = NumberRules {
        allowed_punctuation: "#".into(),
        ..Default::default()
    };
    assert_eq!(validate_customer_number("K#1", &rules).unwrap(), "K#1");
    assert!(validate_customer_number("K-1", &rules).is_err());
}

#[test]
fn customer_number_rules_come_from_the_context() {
    let ctx = ValidationContext {
        number_rules: NumberRules {
            min_len: 6,
            ..Default::default()
        },
        ..ctx()
    };
    let errors = validate_customer(person(), &ctx).unwrap_err();
    assert!(
        errors.contains("/customerNumber", "invalid_customer_number"),
        "{errors}"
    );
}

// --- kind and names ---

#[test]
fn company_name_alone_makes_a_company() {
    let fields = valid(CustomerInput {
        customer_number: Some("1".into()),
        company_name: Some("Acme AB".into()),
        ..Default::default()
    });
    assert_eq!(fields.kind, CustomerKind::Company);
}

#[test]
fn names_make_a_person_even_with_a_company_name() {
    let fields = valid(CustomerInput {
        company_name: Some("Acme AB".into()),
        ..person()
    });
    assert_eq!(fields.kind, CustomerKind::Person);
}

#[test]
fn explicit_kind_wins() {
    let fields = valid(CustomerInput {
        kind: Some(CustomerKind::Company),
        company_name: Some("Acme".into()),
        ..person()
    });
    assert_eq!(fields.kind, CustomerKind::Company);
    assert_eq!(fields.first_name.as_deref(), Some("Anna"));
}

#[test]
fn person_needs_a_first_or_last_name() {
    assert_only(
        CustomerInput {
            first_name: Some("  ".into()),
            ..person()
        },
        "/firstName",
        "required",
    );
    let fields = valid(CustomerInput {
        first_name: None,
        last_name: Some("Berg".into()),
        ..person()
    });
    assert_eq!(fields.last_name.as_deref(), Some("Berg"));
}

#[test]
fn company_needs_a_company_name() {
    let input = CustomerInput {
        kind: Some(CustomerKind::Company),
        ..person()
    };
    assert_only(input, "/companyName", "required");
}

#[test]
fn nothing_but_a_number_is_a_person_without_a_name() {
    let input = CustomerInput {
        customer_number: Some("1".into()),
        ..Default::default()
    };
    assert_only(input, "/firstName", "required");
}

#[test]
fn names_are_trimmed_and_collapsed() {
    let fields = valid(CustomerInput {
        first_name: Some("  Anna \t Maria ".into()),
        last_name: Some("".into()),
        company_name: Some(" Acme   Bygg  AB ".into()),
        ..person()
    });
    assert_eq!(fields.first_name.as_deref(), Some("Anna Maria"));
    assert_eq!(fields.last_name, None);
    assert_eq!(fields.company_name.as_deref(), Some("Acme Bygg AB"));
}

#[test]
fn free_text_is_trimmed_and_blank_is_absent() {
    let fields = valid(CustomerInput {
        description: Some("  Line one\n\nline  two  ".into()),
        cost_centre: Some("   ".into()),
        order_number: Some(" PO-1 ".into()),
        ..person()
    });
    assert_eq!(fields.description.as_deref(), Some("Line one\n\nline  two"));
    assert_eq!(fields.cost_centre, None);
    assert_eq!(fields.order_number.as_deref(), Some("PO-1"));
}

#[test]
fn length_limits_accept_the_maximum() {
    valid(CustomerInput {
        first_name: Some(long(200)),
        last_name: Some(long(200)),
        company_name: Some(long(200)),
        description: Some(long(4000)),
        cost_centre: Some(long(100)),
        order_number: Some(long(100)),
        invoice_address: Some(Address {
            line1: Some(long(200)),
            line2: Some(long(200)),
            postal_code: Some(long(20)),
            city: Some(long(200)),
            region: Some(long(200)),
            country: None,
        }),
        ..person()
    });
}

#[test]
fn length_limits_count_characters_not_bytes() {
    valid(CustomerInput {
        first_name: Some("Å".repeat(200)),
        ..person()
    });
}

#[test]
fn length_limits_refuse_one_more() {
    let errors = invalid(CustomerInput {
        first_name: Some(long(201)),
        last_name: Some(long(201)),
        company_name: Some(long(201)),
        description: Some(long(4001)),
        cost_centre: Some(long(101)),
        order_number: Some(long(101)),
        visiting_address: Some(Address {
            line1: Some(long(201)),
            line2: Some(long(201)),
            postal_code: Some(long(21)),
            city: Some(long(201)),
            region: Some(long(201)),
            country: None,
        }),
        ..person()
    });
    for field in [
        "/firstName",
        "/lastName",
        "/companyName",
        "/description",
        "/costCentre",
        "/orderNumber",
        "/visitingAddress/line1",
        "/visitingAddress/line2",
        "/visitingAddress/postalCode",
        "/visitingAddress/city",
        "/visitingAddress/region",
    ] {
        assert!(errors.contains(field, "too_long"), "{field}: {errors}");
    }
    assert_eq!(errors.len(), 11, "{errors}");
}

// --- e-mail ---

#[test]
fn email_domain_is_lower_cased_and_local_part_kept() {
    let fields = valid(CustomerInput {
        email: Some("  Anna.Berg@Example.COM ".into()),
        invoice_email: Some("Faktura+1@Sub.Example.se".into()),
        ..person()
    });
    assert_eq!(fields.email.as_deref(), Some("Anna.Berg@example.com"));
    assert_eq!(
        fields.invoice_email.as_deref(),
        Some("Faktura+1@sub.example.se")
    );
}

#[test]
fn invalid_emails_are_refused() {
    for bad in [
        "not-an-email",
        "anna@",
        "@example.com",
        "anna@localhost",
        "anna@@example.com",
        "Anna <anna@example.com>",
        "anna@[127.0.0.1]",
        "anna berg@example.com",
        "anna@example.com.",
    ] {
        assert_only(
            CustomerInput {
                email: Some(bad.into()),
                ..person()
            },
            "/email",
            "invalid_email",
        );
        assert_only(
            CustomerInput {
                invoice_email: Some(bad.into()),
                ..person()
            },
            "/invoiceEmail",
            "invalid_email",
        );
    }
}

#[test]
fn blank_email_is_absent() {
    assert_eq!(
        valid(CustomerInput {
            email: Some(" ".into()),
            ..person()
        })
        .email,
        None
    );
}

// --- phone and mobile ---

#[test]
fn swedish_national_phone_is_normalised() {
    let fields = valid(CustomerInput {
        phone: Some("070-123 45 67".into()),
        mobile: Some("070-123 45 67".into()),
        ..person()
    });
    assert_eq!(fields.phone.as_deref(), Some("+46701234567"));
    assert_eq!(fields.mobile.as_deref(), Some("+46701234567"));
}

#[test]
fn international_phone_needs_no_default_country() {
    let ctx = ValidationContext::default();
    let input = CustomerInput {
        phone: Some("0046 8 123 456 78".into()),
        ..person()
    };
    assert_eq!(
        validate_customer(input, &ctx).unwrap().phone.as_deref(),
        Some("+46812345678")
    );
}

#[test]
fn national_phone_without_default_country_is_refused() {
    let ctx = ValidationContext::default();
    let input = CustomerInput {
        phone: Some("070-123 45 67".into()),
        ..person()
    };
    let errors = validate_customer(input, &ctx).unwrap_err();
    assert_eq!(errors.0[0].field, "/phone");
    assert_eq!(errors.0[0].code, "invalid_phone");
    assert!(errors.0[0].message.contains("no country code"), "{errors}");
}

#[test]
fn invalid_phone_is_refused() {
    assert_only(
        CustomerInput {
            phone: Some("12".into()),
            ..person()
        },
        "/phone",
        "invalid_phone",
    );
    assert_only(
        CustomerInput {
            phone: Some("call me".into()),
            ..person()
        },
        "/phone",
        "invalid_phone",
    );
    assert_only(
        CustomerInput {
            mobile: Some("+46 12".into()),
            ..person()
        },
        "/mobile",
        "invalid_phone",
    );
}

#[test]
fn uk_landline_is_not_a_mobile() {
    let input = CustomerInput {
        mobile: Some("+44 20 7946 0018".into()),
        ..person()
    };
    assert_only(input, "/mobile", "not_a_mobile_number");
    let fields = valid(CustomerInput {
        phone: Some("+44 20 7946 0018".into()),
        ..person()
    });
    assert_eq!(fields.phone.as_deref(), Some("+442079460018"));
}

// --- addresses, language ---

#[test]
fn country_is_upper_cased() {
    let fields = valid(CustomerInput {
        invoice_address: Some(Address {
            country: Some(" se ".into()),
            ..Default::default()
        }),
        ..person()
    });
    assert_eq!(
        fields.invoice_address.unwrap().country.as_deref(),
        Some("SE")
    );
}

#[test]
fn unknown_country_is_refused() {
    let input = CustomerInput {
        invoice_address: Some(Address {
            country: Some("XX".into()),
            ..Default::default()
        }),
        visiting_address: Some(Address {
            country: Some("Sweden".into()),
            ..Default::default()
        }),
        ..person()
    };
    let errors = invalid(input);
    assert!(errors.contains("/invoiceAddress/country", "unknown_country"));
    assert!(errors.contains("/visitingAddress/country", "unknown_country"));
}

#[test]
fn blank_address_is_absent() {
    let fields = valid(CustomerInput {
        visiting_address: Some(Address {
            line1: Some("  ".into()),
            ..Default::default()
        }),
        ..person()
    });
    assert_eq!(fields.visiting_address, None);
}

#[test]
fn address_fields_are_trimmed() {
    let fields = valid(CustomerInput {
        visiting_address: Some(Address {
            line1: Some(" Storgatan 1 ".into()),
            postal_code: Some(" 111 22 ".into()),
            ..Default::default()
        }),
        ..person()
    });
    let address = fields.visiting_address.unwrap();
    assert_eq!(address.line1.as_deref(), Some("Storgatan 1"));
    assert_eq!(address.postal_code.as_deref(), Some("111 22"));
}

#[test]
fn language_is_lower_cased() {
    let fields = valid(CustomerInput {
        language: Some(" SV ".into()),
        ..person()
    });
    assert_eq!(fields.language.as_deref(), Some("sv"));
}

#[test]
fn unknown_language_is_refused() {
    assert_only(
        CustomerInput {
            language: Some("xx".into()),
            ..person()
        },
        "/language",
        "unknown_language",
    );
    assert_only(
        CustomerInput {
            language: Some("swe".into()),
            ..person()
        },
        "/language",
        "unknown_language",
    );
}

// --- lists ---

#[test]
fn discount_codes_are_trimmed_and_deduplicated() {
    let fields = valid(CustomerInput {
        discount_codes: strings(&[" SPRING ", "B2B", "SPRING"]),
        ..person()
    });
    assert_eq!(fields.discount_codes, ["SPRING", "B2B"]);
}

#[test]
fn discount_codes_refuse_blank_and_long_entries() {
    let errors = invalid(CustomerInput {
        discount_codes: Some(vec!["OK".into(), " ".into(), long(21), long(20)]),
        ..person()
    });
    assert!(errors.contains("/discountCodes/1", "required"));
    assert!(errors.contains("/discountCodes/2", "too_long"));
    assert_eq!(errors.len(), 2, "{errors}");
}

#[test]
fn discount_codes_are_limited_to_twenty() {
    let codes: Vec<String> = (0..21).map(|i| format!("C{i}")).collect();
    assert_only(
        CustomerInput {
            discount_codes: Some(codes[..21].to_vec()),
            ..person()
        },
        "/discountCodes",
        "too_many",
    );
    valid(CustomerInput {
        discount_codes: Some(codes[..20].to_vec()),
        ..person()
    });
}

#[test]
fn duplicate_tags_are_removed_ignoring_case() {
    let fields = valid(CustomerInput {
        tags: strings(&["Roof", " roof ", "VIP", "vip", "Åsa", "ÅSA"]),
        ..person()
    });
    assert_eq!(fields.tags, ["Roof", "VIP", "Åsa"]);
}

#[test]
fn tags_refuse_blank_and_long_entries() {
    let errors = invalid(CustomerInput {
        tags: Some(vec!["a".into(), "b".into(), "".into(), long(51)]),
        ..person()
    });
    assert!(errors.contains("/tags/2", "required"));
    assert!(errors.contains("/tags/3", "too_long"));
    valid(CustomerInput {
        tags: Some(vec![long(50)]),
        ..person()
    });
}

#[test]
fn tags_are_limited_to_fifty_distinct() {
    let mut tags: Vec<String> = (0..50).map(|i| format!("t{i}")).collect();
    tags.push("T0".into());
    assert_eq!(
        valid(CustomerInput {
            tags: Some(tags.clone()),
            ..person()
        })
        .tags
        .len(),
        50
    );
    tags.push("t50".into());
    assert_only(
        CustomerInput {
            tags: Some(tags),
            ..person()
        },
        "/tags",
        "too_many",
    );
}

// --- default articles ---

#[test]
fn quantities_are_normalised() {
    for (raw, expected) in [
        ("2,5", "2.5"),
        ("2.5", "2.5"),
        ("0", "0"),
        ("1", "1"),
        (" 1.250 ", "1.25"),
        ("007", "7"),
        ("0,125", "0.125"),
        ("3.000", "3"),
        ("0.0", "0"),
    ] {
        assert_eq!(normalise_quantity(raw).as_deref(), Some(expected), "{raw}");
    }
}

#[test]
fn invalid_quantities_are_refused() {
    for raw in [
        "-1",
        "abc",
        "1.2345",
        "",
        "1.",
        ".5",
        "1,2,3",
        "1.2.3",
        "+1",
        "1e3",
        "2 5",
        "1234567890",
    ] {
        assert_eq!(normalise_quantity(raw), None, "{raw}");
    }
}

#[test]
fn article_quantity_with_decimal_comma_is_stored_with_a_point() {
    let fields = valid(CustomerInput {
        default_articles: Some(vec![article("A-1", "2,5")]),
        ..person()
    });
    assert_eq!(fields.default_articles[0].quantity, "2.5");
}

#[test]
fn article_errors_point_into_the_list() {
    let errors = invalid(CustomerInput {
        default_articles: Some(vec![
            article("A-1", "1"),
            article(" ", "-1"),
            article(&long(51), "1.2345"),
        ]),
        ..person()
    });
    assert!(errors.contains("/defaultArticles/1/articleNumber", "required"));
    assert!(errors.contains("/defaultArticles/1/quantity", "invalid_quantity"));
    assert!(errors.contains("/defaultArticles/2/articleNumber", "too_long"));
    assert!(errors.contains("/defaultArticles/2/quantity", "invalid_quantity"));
    assert_eq!(errors.len(), 4, "{errors}");
}

#[test]
fn an_article_s_unit_price_is_not_negative_and_its_type_is_kept() {
    let mut time = article("T-1", "0");
    time.article_type = ArticleType::Time;
    time.unit_price = Some(65_000);
    let fields = valid(CustomerInput {
        default_articles: Some(vec![time.clone()]),
        ..person()
    });
    assert_eq!(fields.default_articles, vec![time.clone()]);
    time.unit_price = Some(-1);
    assert_only(
        CustomerInput {
            default_articles: Some(vec![time]),
            ..person()
        },
        "/defaultArticles/0/unitPrice",
        "negative_amount",
    );
}

#[test]
fn article_text_is_trimmed() {
    let mut input = article(" A-1 ", "1");
    input.description = Some(" Travel ".into());
    input.unit = Some(" ".into());
    let fields = valid(CustomerInput {
        default_articles: Some(vec![input]),
        ..person()
    });
    let stored = &fields.default_articles[0];
    assert_eq!(stored.article_number, "A-1");
    assert_eq!(stored.description.as_deref(), Some("Travel"));
    assert_eq!(stored.unit, None);
}

#[test]
fn articles_are_limited_to_fifty() {
    let articles = |n| Some((0..n).map(|i| article(&format!("A{i}"), "1")).collect());
    valid(CustomerInput {
        default_articles: articles(50),
        ..person()
    });
    assert_only(
        CustomerInput {
            default_articles: articles(51),
            ..person()
        },
        "/defaultArticles",
        "too_many",
    );
}

// --- external references ---

#[test]
fn external_refs_are_trimmed() {
    let refs = vec![ExternalRef {
        system: AccountingSystem::Visma,
        id: " V-1 ".into(),
    }];
    let fields = valid(CustomerInput {
        external_refs: Some(refs),
        ..person()
    });
    assert_eq!(fields.external_refs[0].id, "V-1");
}

#[test]
fn one_external_ref_per_system() {
    let refs = vec![
        ExternalRef {
            system: AccountingSystem::Visma,
            id: "V-1".into(),
        },
        ExternalRef {
            system: AccountingSystem::Sage,
            id: "S-1".into(),
        },
        ExternalRef {
            system: AccountingSystem::Visma,
            id: "V-2".into(),
        },
    ];
    assert_only(
        CustomerInput {
            external_refs: Some(refs),
            ..person()
        },
        "/externalRefs/2/system",
        "duplicate",
    );
}

#[test]
fn external_ref_ids_are_required_and_limited() {
    let refs = vec![
        ExternalRef {
            system: AccountingSystem::Visma,
            id: " ".into(),
        },
        ExternalRef {
            system: AccountingSystem::Sage,
            id: long(101),
        },
        ExternalRef {
            system: AccountingSystem::Other,
            id: long(100),
        },
    ];
    let errors = invalid(CustomerInput {
        external_refs: Some(refs),
        ..person()
    });
    assert!(errors.contains("/externalRefs/0/id", "required"));
    assert!(errors.contains("/externalRefs/1/id", "too_long"));
    assert_eq!(errors.len(), 2, "{errors}");
}

#[test]
fn external_refs_are_limited_to_ten() {
    let refs: Vec<_> = (0..11)
        .map(|i| ExternalRef {
            system: AccountingSystem::Other,
            id: format!("{i}"),
        })
        .collect();
    let errors = invalid(CustomerInput {
        external_refs: Some(refs),
        ..person()
    });
    assert!(errors.contains("/externalRefs", "too_many"));
}

// --- terms and defaults ---

#[test]
fn defaults_are_applied() {
    let fields = valid(person());
    assert_eq!(
        fields.terms,
        Terms {
            payment_type: PaymentType::Cash,
            currency: "EUR".into(),
            credit_limit: None,
            payment_terms: PaymentTerms::DueOnReceipt,
            open_balance: 0,
        }
    );
    assert_eq!(fields.tier, Tier::Regular);
    assert!(!fields.on_hold);
    assert!(!fields.show_company_name_on_documents);
    assert!(
        fields.contacts.is_empty() && fields.tags.is_empty() && fields.discount_codes.is_empty()
    );
}

#[test]
fn default_currency_comes_from_the_context() {
    let ctx = ValidationContext {
        default_currency: "sek".into(),
        ..ctx()
    };
    assert_eq!(
        validate_customer(person(), &ctx).unwrap().terms.currency,
        "SEK"
    );
}

#[test]
fn terms_are_kept() {
    let fields = valid(terms(TermsInput {
        payment_type: Some(PaymentType::Account),
        currency: Some(" nok ".into()),
        credit_limit: Some(0),
        payment_terms: Some(PaymentTerms::Net(30)),
        open_balance: Some(-5000),
    }));
    assert_eq!(
        fields.terms,
        Terms {
            payment_type: PaymentType::Account,
            currency: "NOK".into(),
            credit_limit: Some(0),
            payment_terms: PaymentTerms::Net(30),
            open_balance: -5000,
        }
    );
}

#[test]
fn unknown_currency_is_refused() {
    for bad in ["ABC", "SEKK", "kr", "XXX"] {
        let input = terms(TermsInput {
            currency: Some(bad.into()),
            ..Default::default()
        });
        assert_only(input, "/terms/currency", "unknown_currency");
    }
}

#[test]
fn negative_credit_limit_is_refused() {
    let input = terms(TermsInput {
        credit_limit: Some(-1),
        ..Default::default()
    });
    assert_only(input, "/terms/creditLimit", "negative_amount");
}

#[test]
fn out_of_range_payment_terms_built_in_code_are_refused() {
    let input = terms(TermsInput {
        payment_terms: Some(PaymentTerms::Net(0)),
        ..Default::default()
    });
    assert_only(input, "/terms/paymentTerms", "invalid_payment_terms");
}

#[test]
fn flags_are_kept() {
    let fields = valid(CustomerInput {
        tier: Some(Tier::Vip),
        on_hold: Some(true),
        show_company_name_on_documents: Some(true),
        ..person()
    });
    assert_eq!(
        (
            fields.tier,
            fields.on_hold,
            fields.show_company_name_on_documents
        ),
        (Tier::Vip, true, true)
    );
}

// --- contacts ---

#[test]
fn contact_is_validated_and_normalised() {
    let input = ContactInput {
        first_name: Some(" Bo  Ek ".into()),
        role: Some(" Owner ".into()),
        email: Some("Bo@Example.COM".into()),
        phone: Some("08-123 456 78".into()),
        mobile: Some("070-123 45 67".into()),
        ..Default::default()
    };
    let id = ContactId::new();
    let contact = validate_contact(input, id.clone(), &ctx()).unwrap();
    assert_eq!(
        contact,
        Contact {
            id,
            first_name: Some("Bo Ek".into()),
            last_name: None,
            role: Some("Owner".into()),
            email: Some("Bo@example.com".into()),
            phone: Some("+46812345678".into()),
            phone_extension: None,
            mobile: Some("+46701234567".into()),
            primary: false,
            send_service_protocols: false,
            send_work_orders: false,
            sms_opt_out: false,
        }
    );
}

#[test]
fn contact_needs_a_name_or_a_way_to_reach_them() {
    for input in [
        ContactInput {
            email: Some("bo@example.com".into()),
            ..Default::default()
        },
        ContactInput {
            phone: Some("08-123 456 78".into()),
            ..Default::default()
        },
        ContactInput {
            mobile: Some("070-123 45 67".into()),
            ..Default::default()
        },
        ContactInput {
            last_name: Some("Ek".into()),
            ..Default::default()
        },
    ] {
        assert!(validate_contact(input, ContactId::new(), &ctx()).is_ok());
    }
    let blank = ContactInput {
        first_name: Some(" ".into()),
        role: Some("Owner".into()),
        ..Default::default()
    };
    let errors = validate_contact(blank, ContactId::new(), &ctx()).unwrap_err();
    assert!(errors.contains("", "required"), "{errors}");
}

#[test]
fn contact_with_only_an_invalid_email_reports_the_email_only() {
    let input = ContactInput {
        email: Some("nope".into()),
        ..Default::default()
    };
    let errors = validate_contact(input, ContactId::new(), &ctx()).unwrap_err();
    assert_eq!(
        errors.0,
        [FieldError::new(
            "/email",
            "invalid_email",
            "\"nope\" is not a valid e-mail address."
        )]
    );
}

#[test]
fn contact_fields_are_checked() {
    let input = ContactInput {
        first_name: Some(long(201)),
        role: Some(long(101)),
        email: Some("x".into()),
        phone: Some("1".into()),
        mobile: Some("+44 20 7946 0018".into()),
        ..Default::default()
    };
    let errors = validate_contact(input, ContactId::new(), &ctx()).unwrap_err();
    assert!(errors.contains("/firstName", "too_long"));
    assert!(errors.contains("/role", "too_long"));
    assert!(errors.contains("/email", "invalid_email"));
    assert!(errors.contains("/phone", "invalid_phone"));
    assert!(errors.contains("/mobile", "not_a_mobile_number"));
    assert_eq!(errors.len(), 5, "{errors}");
}

#[test]
fn contact_flags_are_kept() {
    let input = ContactInput {
        primary: Some(true),
        send_service_protocols: Some(true),
        send_work_orders: Some(true),
        ..contact("Bo")
    };
    let stored = validate_contact(input, ContactId::new(), &ctx()).unwrap();
    assert!(stored.primary && stored.send_service_protocols && stored.send_work_orders);
}

#[test]
fn first_contact_becomes_primary_when_none_is_marked() {
    let fields = valid(CustomerInput {
        contacts: Some(vec![contact("A"), contact("B")]),
        ..person()
    });
    let primaries: Vec<bool> = fields.contacts.iter().map(|c| c.primary).collect();
    assert_eq!(primaries, [true, false]);
}

#[test]
fn marked_primary_is_kept() {
    let marked = ContactInput {
        primary: Some(true),
        ..contact("B")
    };
    let fields = valid(CustomerInput {
        contacts: Some(vec![contact("A"), marked]),
        ..person()
    });
    let primaries: Vec<bool> = fields.contacts.iter().map(|c| c.primary).collect();
    assert_eq!(primaries, [false, true]);
}

#[test]
fn several_primaries_are_refused_on_the_second() {
    let marked = |name| ContactInput {
        primary: Some(true),
        ..contact(name)
    };
    let input = CustomerInput {
        contacts: Some(vec![contact("A"), marked("B"), marked("C")]),
        ..person()
    };
    let errors = invalid(input);
    assert!(
        errors.contains("/contacts/2/primary", "multiple_primary_contacts"),
        "{errors}"
    );
    assert!(!errors.contains("/contacts/1/primary", "multiple_primary_contacts"));
}

#[test]
fn contact_errors_point_into_the_list() {
    let bad = ContactInput {
        email: Some("nope".into()),
        ..contact("B")
    };
    let errors = invalid(CustomerInput {
        contacts: Some(vec![contact("A"), bad, ContactInput::default()]),
        ..person()
    });
    assert!(errors.contains("/contacts/1/email", "invalid_email"));
    assert!(errors.contains("/contacts/2", "required"));
    assert_eq!(errors.len(), 2, "{errors}");
}

#[test]
fn contacts_are_limited_to_the_maximum() {
    let contacts = |n: usize| Some((0..n).map(|i| contact(&format!("C{i}"))).collect());
    assert_eq!(
        valid(CustomerInput {
            contacts: contacts(CONTACTS_MAX),
            ..person()
        })
        .contacts
        .len(),
        CONTACTS_MAX
    );
    assert_only(
        CustomerInput {
            contacts: contacts(CONTACTS_MAX + 1),
            ..person()
        },
        "/contacts",
        "too_many",
    );
}

#[test]
fn contacts_get_distinct_ids() {
    let fields = valid(CustomerInput {
        contacts: Some(vec![contact("A"), contact("B")]),
        ..person()
    });
    assert_ne!(fields.contacts[0].id, fields.contacts[1].id);
}

// --- all at once ---

#[test]
fn every_problem_is_reported_in_one_call() {
    let input = CustomerInput {
        customer_number: Some("bad number!".into()),
        first_name: None,
        email: Some("not-an-email".into()),
        phone: Some("12".into()),
        mobile: Some("+44 20 7946 0018".into()),
        language: Some("xx".into()),
        invoice_address: Some(Address {
            country: Some("XX".into()),
            ..Default::default()
        }),
        terms: Some(TermsInput {
            currency: Some("ABC".into()),
            credit_limit: Some(-100),
            ..Default::default()
        }),
        tags: Some(vec!["".into()]),
        default_articles: Some(vec![article("A", "abc")]),
        contacts: Some(vec![ContactInput {
            phone: Some("nope".into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let errors = invalid(input);
    let expected = [
        ("/customerNumber", "invalid_customer_number"),
        ("/firstName", "required"),
        ("/email", "invalid_email"),
        ("/phone", "invalid_phone"),
        ("/mobile", "not_a_mobile_number"),
        ("/invoiceAddress/country", "unknown_country"),
        ("/contacts/0/phone", "invalid_phone"),
        ("/language", "unknown_language"),
        ("/tags/0", "required"),
        ("/defaultArticles/0/quantity", "invalid_quantity"),
        ("/terms/currency", "unknown_currency"),
        ("/terms/creditLimit", "negative_amount"),
    ];
    let found: Vec<_> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(found, expected, "{errors}");
}

// --- error types ---

#[test]
fn field_errors_serialise_in_camel_case() {
    let errors = ValidationErrors::single(FieldError::required("/email"));
    assert_eq!(
        serde_json::to_value(&errors).unwrap(),
        serde_json::json!([{"field": "/email", "code": "required", "message": "This field is required."}])
    );
}

#[test]
fn validation_errors_display_every_error() {
    let errors = ValidationErrors(vec![
        FieldError::required("/a"),
        FieldError::too_long("/b", 5),
    ]);
    assert_eq!(
        errors.to_string(),
        "invalid input: /a: This field is required. (required); /b: Must be at most 5 characters. (too_long)"
    );
    let as_error: &dyn std::error::Error = &errors;
    assert!(as_error.source().is_none());
}

#[test]
fn errors_can_be_moved_under_a_prefix() {
    let errors = ValidationErrors::from(FieldError::required("/email")).prefixed("/contacts/3");
    assert!(errors.contains("/contacts/3/email", "required"));
}

#[test]
fn a_customers_phone_keeps_its_extension_apart_and_a_patch_keeps_it() {
    let fields = valid(CustomerInput {
        phone: Some("08-123 456 78 anknytning 12".into()),
        ..person()
    });
    assert_eq!(fields.phone.as_deref(), Some("+46812345678"));
    assert_eq!(fields.phone_extension.as_deref(), Some("12"));
    // A change that leaves the phone alone keeps the extension; one that replaces the phone
    // replaces both.
    let unchanged = validate_change(&fields, fields.to_input(), &ctx()).unwrap();
    assert_eq!(unchanged, fields);
    let replaced = validate_change(
        &fields,
        CustomerInput {
            phone: Some("08-123 456 79".into()),
            ..fields.to_input()
        },
        &ctx(),
    )
    .unwrap();
    assert_eq!(replaced.phone_extension, None);
}

#[test]
fn a_contacts_phone_keeps_its_extension_apart_as_the_cards_does() {
    let input = ContactInput {
        first_name: Some("Per".into()),
        phone: Some("+44 20 7946 0018 ext. 12".into()),
        ..ContactInput::default()
    };
    let id = ContactId::new();
    let contact = validate_contact(input, id.clone(), &ctx()).unwrap();
    assert_eq!(contact.phone.as_deref(), Some("+442079460018"));
    assert_eq!(contact.phone_extension.as_deref(), Some("12"));
    // The contact as input (a merge patch's target) reads back the same.
    let again = validate_contact(contact.to_input(), id.clone(), &ctx()).unwrap();
    assert_eq!(again, contact);
    let replaced = validate_contact(
        ContactInput {
            phone: Some("+44 20 7946 0019".into()),
            ..contact.to_input()
        },
        id,
        &ctx(),
    )
    .unwrap();
    assert_eq!(replaced.phone_extension, None);
}

#[test]
fn a_site_without_a_contact_of_its_own_takes_the_cards_phone_with_its_extension() {
    let fields = valid(CustomerInput {
        phone: Some("+1 (201) 555-0147 x718".into()),
        ..person()
    });
    let contact = crate::sites::contact_from_customer(&fields).expect("a contact");
    assert_eq!(contact.phone, fields.phone);
    assert_eq!(contact.phone_extension.as_deref(), Some("718"));
}

#[test]
fn a_mobile_with_an_extension_is_refused() {
    assert_only(
        CustomerInput {
            mobile: Some("070-123 45 67 ext. 3".into()),
            ..person()
        },
        "/mobile",
        "invalid_phone",
    );
}

#[test]
fn an_organisation_number_is_checked_by_the_invoice_country_and_stored_canonically() {
    let input: CustomerInput = serde_json::from_value(serde_json::json!({
        "customerNumber": "1",
        "companyName": "Equinor ASA",
        "organisationNumber": "923 609 016",
        "invoiceAddress": {"country": "NO"},
        "visitingAddress": {"country": "SE"}
    }))
    .unwrap();
    let fields = validate_customer(input, &ValidationContext::default()).unwrap();
    assert_eq!(fields.organisation_number.as_deref(), Some("923609016"));
    assert_eq!(fields.organisation_number_country.as_deref(), Some("NO"));
}

#[test]
fn organisation_number_problems_are_reported_with_the_others() {
    let input: CustomerInput = serde_json::from_value(serde_json::json!({
        "customerNumber": "1",
        "companyName": "Fel AB",
        "email": "not-an-email",
        "organisationNumber": "556012-5791",
        "invoiceAddress": {"country": "SE"}
    }))
    .unwrap();
    let errors = validate_customer(input, &ValidationContext::default()).unwrap_err();
    assert!(errors.contains("/email", "invalid_email"), "{errors}");
    assert!(
        errors.contains("/organisationNumber", "invalid_organisation_number"),
        "{errors}"
    );
    let unknown: CustomerInput = serde_json::from_value(serde_json::json!({
        "customerNumber": "1",
        "companyName": "Var AB",
        "organisationNumber": "5560125790"
    }))
    .unwrap();
    let errors = validate_customer(unknown, &ValidationContext::default()).unwrap_err();
    assert!(
        errors.contains("/organisationNumber", "organisation_number_country_unknown"),
        "{errors}"
    );
    let mismatch: CustomerInput = serde_json::from_value(serde_json::json!({
        "customerNumber": "1",
        "companyName": "Var AB",
        "organisationNumber": "DK24256790",
        "organisationNumberCountry": "SE"
    }))
    .unwrap();
    let errors = validate_customer(mismatch, &ValidationContext::default()).unwrap_err();
    assert!(
        errors.contains(
            "/organisationNumberCountry",
            "organisation_number_country_mismatch"
        ),
        "{errors}"
    );
}

#[test]
fn a_changed_organisation_number_is_not_judged_by_the_old_ones_country() {
    let ctx = ValidationContext {
        default_country: Some("SE".into()),
        ..ValidationContext::default()
    };
    let input: CustomerInput = serde_json::from_value(serde_json::json!({
        "customerNumber": "1",
        "companyName": "Bergs AB",
        "organisationNumber": "5560125790"
    }))
    .unwrap();
    let before = validate_customer(input, &ctx).unwrap();
    assert_eq!(before.organisation_number_country.as_deref(), Some("SE"));
    // The stored country rides along in the merge-patch target, as in PATCH.
    let mut changed = before.to_input();
    changed.organisation_number = Some("DK24256790".into());
    let after = validate_change(&before, changed, &ctx).unwrap();
    assert_eq!(after.organisation_number.as_deref(), Some("DK24256790"));
    assert_eq!(after.organisation_number_country.as_deref(), Some("DK"));
    // An unchanged number keeps its country when the addresses move abroad.
    let mut moved = before.to_input();
    moved.invoice_address = Some(Address {
        country: Some("NO".into()),
        ..Address::default()
    });
    let after = validate_change(&before, moved, &ctx).unwrap();
    assert_eq!(after.organisation_number_country.as_deref(), Some("SE"));
}

// --- custom fields ---

#[test]
fn custom_texts_are_trimmed_and_a_blank_one_is_not_given() {
    let text = |key: &str, required| crate::settings::CustomFieldDef {
        key: key.into(),
        label: key.into(),
        kind: crate::settings::CustomFieldType::Text,
        required,
        options: Vec::new(),
        retired: false,
    };
    let ctx = ValidationContext {
        custom_fields: vec![text("gate", false), text("region", true)],
        ..ctx()
    };
    let input = |gate: &str, region: &str| CustomerInput {
        custom_fields: Some(
            [
                ("gate".to_owned(), serde_json::json!(gate)),
                ("region".to_owned(), serde_json::json!(region)),
            ]
            .into(),
        ),
        ..person()
    };
    let fields = validate_customer(input("  4711 ", "North"), &ctx).unwrap();
    assert_eq!(fields.custom_fields["gate"], "4711");
    let fields = validate_customer(input("   ", "North"), &ctx).unwrap();
    assert!(!fields.custom_fields.contains_key("gate"));
    let errors = validate_customer(input("4711", " "), &ctx).unwrap_err();
    assert_eq!(errors.iter().next().unwrap().code, "required_custom_field");
}

/// What the shortcut takes as plain, the full parse keeps as typed.
#[test]
fn plain_addresses_parse_as_typed() {
    let plain = [
        "anna@example.com",
        "anna.berg+offers@mail.example.co.uk",
        "a_b-c@x1.se",
        "1@2.3",
        "ANNA@example.com",
    ];
    for address in plain {
        assert!(is_plain_email(address), "{address}");
        assert_eq!(parse_email(address.to_owned()), Ok(address.to_owned()));
    }
    let not_plain = [
        "anna@Example.com",
        "anna@example",
        "anna..berg@example.com",
        ".anna@example.com",
        "anna@-example.com",
        "anna@example-.com",
        "anna@example..com",
        "a@b@example.com",
        "\"anna\"@example.com",
        "Anna <anna@example.com>",
        "åsa@example.com",
        "anna@exämple.com",
    ];
    for address in not_plain {
        assert!(!is_plain_email(address), "{address}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

    /// Any address the shortcut takes, the full parse takes, unchanged.
    #[test]
    fn the_shortcut_agrees_with_the_parse(
        local in "[a-zA-Z0-9.+_<>\"@-]{0,10}",
        domain in "[a-zA-Z0-9.@-]{0,14}",
    ) {
        let address = format!("{local}@{domain}");
        if is_plain_email(&address) {
            proptest::prop_assert_eq!(parse_email(address.clone()), Ok(address));
        }
    }
}

/// The collapsed check by characters alone, as it was before the byte shortcut.
fn collapsed_by_characters(text: &str) -> bool {
    let mut previous_space = false;
    text.chars().all(|c| {
        let plain = c == ' ' && !previous_space;
        let ok = !c.is_whitespace() || plain;
        previous_space = c.is_whitespace();
        ok
    })
}

#[test]
fn every_whitespace_character_starts_with_a_byte_the_shortcut_looks_at() {
    for c in (0..=0x10FFFF)
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
    {
        let mut bytes = [0; 4];
        let first = c.encode_utf8(&mut bytes).as_bytes()[0];
        let looked_at = matches!(first, 0x09..=0x0D | 0xC2 | 0xE1..=0xE3) || c == ' ';
        assert!(looked_at, "{c:?}");
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20_000))]

    /// Names with and without the shortcut's bytes are judged as by their characters.
    #[test]
    fn collapsed_names_are_judged_as_by_characters(
        name in "[a-zA-ZåäöÅÄÖéü \\t\\u{a0}\\u{2009}\\u{3000}\\u{85}\\u{ff}-]{0,12}",
    ) {
        proptest::prop_assert_eq!(is_collapsed(&name), collapsed_by_characters(&name));
    }
}
