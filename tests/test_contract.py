"""The data contract is declared once and is internally consistent."""

from riskscore.contract import FAMILIES, TABLES, contract_markdown

PLATFORM_FEE_FIELDS = {
    "med_chrgitm_type",
    "hilist_code",
    "medins_list_codg",
    "cnt",
    "pric",
    "det_item_fee_sumamt",
    "prd_days",
    "rx_drord_no",
    "bilg_dr_code",
    "fee_ocur_time",
}


def test_fee_list_carries_the_platform_fields_named_in_the_issue():
    assert PLATFORM_FEE_FIELDS <= set(TABLES["fee_list_d"].column_names)


def test_keys_are_declared_columns_and_required():
    for t in TABLES.values():
        for k in t.key:
            col = t.column(k)
            assert col.required, f"{t.name}.{k} is a key but optional"


def test_pii_columns_are_never_required_keys():
    for t in TABLES.values():
        assert not set(t.pii_columns) & set(t.key), t.name


def test_row_checks_refer_to_columns_of_the_table():
    for t in TABLES.values():
        for r in t.row_checks:
            assert r.left in t.column_names and r.right in t.column_names


def test_family_ids_are_exactly_the_issue_list():
    assert list(FAMILIES) == [
        "over_prescription",
        "duplicate_prescribing",
        "split_prescription",
        "split_hospitalization",
        "bed_hanging",
        "over_testing",
        "duplicate_charging",
        "restricted_items",
        "substitution",
        "identity_fraud",
        "procurement",
        "zero_markup",
        "abnormal_utilization",
        "drug_resale",
    ]


def test_markdown_mentions_every_table_and_column():
    md = contract_markdown()
    for t in TABLES.values():
        assert f"`{t.name}`" in md
        for c in t.columns:
            assert f"`{c.name}`" in md
