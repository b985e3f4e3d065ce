"""The data contract: every input table riskscore reads, declared once.

Claims use the national 医保信息平台 extract layout and field names (``mdtrt_d``,
``setl_d``, ``fee_list_d``, ``setl_list_diag_d``, ``psn_info_b``); the registries are the
一单两库 (inspection item list, target registry, inspector registry) plus conflicts of
interest; procurement, stock movements (进销存), drug sale prices, credit ratings and
inspection results complete the picture.

Each :class:`TableSpec` says which columns are required, their types, keys, allowed codes
and which columns carry personal data. Loaders (:mod:`riskscore.io`) validate against these
specs; ``docs/data_contract.md`` is generated from them (:func:`contract_markdown`).

Column ``dtype`` values
-----------------------
``code``      text identifier; floats produced by spreadsheets ("1102000040000.0") are
              normalised back to "1102000040000"; optional zero-padding (``zfill``).
``str``       free text.
``int``       integer (nullable).
``float``     number (amounts, quantities).
``date``      calendar date, several text layouts accepted.
``datetime``  timestamp, several text layouts accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a contract table.

    Parameters
    ----------
    name : str
        Field name as in the source system (platform snake_case names for claims).
    dtype : str
        One of ``code``, ``str``, ``int``, ``float``, ``date``, ``datetime``.
    zh : str
        Chinese name (中文名称).
    required : bool
        A file lacking a required column is refused as a whole.
    nullable : bool
        Whether an empty value is acceptable in a required column.
    allowed : tuple of str, optional
        Closed set of codes; other values are quarantined.
    known : dict, optional
        Documented code meanings that are *not* enforced (local dictionaries add codes).
    zfill : int, optional
        Left-pad numeric codes with zeros to this width ("1" -> "01").
    min_value : float, optional
        Smallest acceptable numeric value.
    pii : bool
        Personal data (姓名, 证件号码, 电话, 地址): never written to a public output.
    description : str
        English meaning.
    """

    name: str
    dtype: str
    zh: str
    required: bool = False
    nullable: bool = True
    allowed: tuple[str, ...] | None = None
    known: dict[str, str] | None = None
    zfill: int | None = None
    min_value: float | None = None
    pii: bool = False
    description: str = ""


@dataclass(frozen=True)
class RowCheck:
    """A check across columns of one row, e.g. ``begntime <= endtime``.

    ``kind`` is ``le`` (``left <= right`` when both present).
    """

    name: str
    kind: str
    left: str
    right: str
    zh: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One contract table.

    Parameters
    ----------
    name : str
        Table name; files are found as ``<name>.csv``, ``<name>.xlsx`` or ``<name>.parquet``.
    zh : str
        Chinese name.
    group : str
        ``claims``, ``registry``, ``procurement``, ``credit``, ``results``.
    required : bool
        A data folder without this table is not usable.
    key : tuple of str
        Columns that identify a row; duplicate keys are quarantined.
    columns : tuple of ColumnSpec
    row_checks : tuple of RowCheck
    description : str
    """

    name: str
    zh: str
    group: str
    required: bool
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    row_checks: tuple[RowCheck, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


C = ColumnSpec

MED_TYPE = {
    "11": "普通门诊 general outpatient",
    "12": "门诊挂号 outpatient registration",
    "13": "急诊 emergency",
    "14": "门诊慢特病 outpatient chronic/special disease",
    "21": "普通住院 inpatient",
    "22": "外伤住院 trauma inpatient",
    "41": "定点药店购药 pharmacy purchase",
    "51": "生育门诊 maternity outpatient",
    "52": "生育住院 maternity inpatient",
}
INSUTYPE = {
    "310": "职工基本医疗保险 employee basic medical insurance",
    "390": "城乡居民基本医疗保险 urban-rural resident basic medical insurance",
    "410": "长期照护保险 long-term care insurance",
    "510": "生育保险 maternity insurance",
}
MED_CHRGITM_TYPE = {
    "01": "床位费 bed",
    "02": "诊察费 consultation",
    "03": "检查费 examination",
    "04": "化验费 laboratory test",
    "05": "治疗费 treatment",
    "06": "手术费 surgery",
    "07": "护理费 nursing",
    "08": "卫生材料费 medical consumables",
    "09": "西药费 western medicine",
    "10": "中药饮片费 herbal pieces",
    "11": "中成药费 Chinese patent medicine",
    "12": "一般诊疗费 general diagnosis and treatment",
    "13": "挂号费 registration",
    "14": "其他费 other",
}
LIST_TYPE = {
    "101": "西药中成药 drug",
    "102": "中药饮片 herbal",
    "201": "医疗服务项目 service item",
    "301": "医用耗材 consumable",
}
MEDINS_TYPE = {
    "hospital": "医院 hospital",
    "clinic": "基层医疗机构/诊所 primary-care clinic (community health centre, township hospital, clinic)",
    "pharmacy": "定点零售药店 retail pharmacy",
}
HOSP_LV = {
    "3": "三级 tertiary",
    "2": "二级 secondary",
    "1": "一级 primary",
    "0": "未定级 unrated (clinics, pharmacies)",
}

TABLES: dict[str, TableSpec] = {}


def _add(spec: TableSpec) -> None:
    TABLES[spec.name] = spec


# --------------------------------------------------------------------------- claims
_add(
    TableSpec(
        name="psn_info_b",
        zh="人员基本信息",
        group="claims",
        required=False,
        key=("psn_no",),
        description="Insured persons. Personal identifiers are read but never published.",
        columns=(
            C("psn_no", "code", "人员编号", required=True, nullable=False),
            C(
                "gend",
                "code",
                "性别",
                required=True,
                allowed=("1", "2", "9"),
                known={"1": "男 male", "2": "女 female", "9": "未说明 unknown"},
            ),
            C("brdy", "date", "出生日期", required=True),
            C("die_date", "date", "死亡日期"),
            C("insutype", "code", "险种类型", known=INSUTYPE),
            C("insu_admdvs", "code", "参保地医保区划"),
            C(
                "chronic_flag",
                "int",
                "慢特病标志",
                allowed=None,
                description="1 when the person holds a 门诊慢特病 certificate",
            ),
            C("certno", "code", "证件号码", pii=True),
            C("psn_name", "str", "姓名", pii=True),
            C("tel", "code", "联系电话", pii=True),
            C("addr", "str", "地址", pii=True),
        ),
    )
)

_add(
    TableSpec(
        name="mdtrt_d",
        zh="就诊信息",
        group="claims",
        required=True,
        key=("mdtrt_id",),
        description="One row per encounter: outpatient visit, inpatient stay or pharmacy purchase.",
        columns=(
            C("mdtrt_id", "code", "就诊ID", required=True, nullable=False),
            C("psn_no", "code", "人员编号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("med_type", "code", "医疗类别", required=True, nullable=False, known=MED_TYPE),
            C("begntime", "datetime", "开始时间", required=True, nullable=False),
            C("endtime", "datetime", "结束时间", required=True),
            C("insutype", "code", "险种类型", known=INSUTYPE),
            C("insu_admdvs", "code", "参保地医保区划"),
            C("hosp_lv", "code", "医院等级", known=HOSP_LV),
            C("gend", "code", "性别", allowed=("1", "2", "9")),
            C("brdy", "date", "出生日期"),
            C("age", "float", "年龄", min_value=0),
            C(
                "die_date",
                "date",
                "死亡日期",
                description="person field carried on the encounter (used when psn_info_b is absent)",
            ),
            C("dscg_maindiag_code", "code", "出院主诊断代码"),
            C("dscg_maindiag_name", "str", "出院主诊断名称"),
            C("dise_no", "code", "病种编号"),
            C("ipt_days", "float", "住院天数", min_value=0),
            C("dscg_way", "code", "离院方式"),
            C("refl_old_mdtrt_id", "code", "转院前就诊ID"),
            C("certno", "code", "证件号码", pii=True),
            C("psn_name", "str", "姓名", pii=True),
            C("tel", "code", "联系电话", pii=True),
            C("addr", "str", "地址", pii=True),
        ),
        row_checks=(
            RowCheck("end_before_begin", "le", "begntime", "endtime", "结束时间早于开始时间"),
        ),
    )
)

_add(
    TableSpec(
        name="setl_d",
        zh="结算信息",
        group="claims",
        required=False,
        key=("setl_id",),
        description="One row per settlement; refunds are flagged refd_setl_flag=1 or negative.",
        columns=(
            C("setl_id", "code", "结算ID", required=True, nullable=False),
            C("mdtrt_id", "code", "就诊ID", required=True, nullable=False),
            C("psn_no", "code", "人员编号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("setl_time", "datetime", "结算时间", required=True, nullable=False),
            C("medfee_sumamt", "float", "医疗费总额", required=True, nullable=False),
            C("hifp_pay", "float", "统筹基金支出", required=True),
            C("fund_pay_sumamt", "float", "基金支付总额", required=True),
            C("psn_pay", "float", "个人支付金额"),
            C("acct_pay", "float", "个人账户支出"),
            C("cash_payamt", "float", "现金支付金额"),
            C("inscp_amt", "float", "符合范围金额"),
            C("fulamt_ownpay_amt", "float", "全自费金额"),
            C("med_type", "code", "医疗类别", known=MED_TYPE),
            C("insutype", "code", "险种类型", known=INSUTYPE),
            C("begndate", "date", "开始日期"),
            C("enddate", "date", "结束日期"),
            C("refd_setl_flag", "code", "退费结算标志", allowed=("0", "1")),
            C("gend", "code", "性别", allowed=("1", "2", "9")),
            C("brdy", "date", "出生日期"),
            C("die_date", "date", "死亡日期"),
            C("certno", "code", "证件号码", pii=True),
            C("psn_name", "str", "姓名", pii=True),
        ),
        row_checks=(
            RowCheck("end_before_begin", "le", "begndate", "enddate", "结束日期早于开始日期"),
        ),
    )
)

_add(
    TableSpec(
        name="fee_list_d",
        zh="费用明细",
        group="claims",
        required=False,
        key=("bkkp_sn",),
        description="One row per billed line; refunds appear as negative lines.",
        columns=(
            C("bkkp_sn", "code", "记账流水号", required=True, nullable=False),
            C("mdtrt_id", "code", "就诊ID", required=True, nullable=False),
            C("setl_id", "code", "结算ID"),
            C("psn_no", "code", "人员编号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("fee_ocur_time", "datetime", "费用发生时间", required=True, nullable=False),
            C(
                "med_chrgitm_type",
                "code",
                "医疗收费项目类别",
                required=True,
                nullable=False,
                allowed=tuple(MED_CHRGITM_TYPE),
                zfill=2,
                known=MED_CHRGITM_TYPE,
            ),
            C("hilist_code", "code", "医保目录编码", required=True, nullable=False),
            C("hilist_name", "str", "医保目录名称"),
            C("medins_list_codg", "code", "医药机构目录编码", required=True),
            C("medins_list_name", "str", "医药机构目录名称"),
            C("list_type", "code", "目录类别", known=LIST_TYPE),
            C("cnt", "float", "数量", required=True, nullable=False),
            C("pric", "float", "单价", required=True, nullable=False, min_value=0),
            C("det_item_fee_sumamt", "float", "明细项目费用总额", required=True, nullable=False),
            C("prd_days", "float", "周期天数", min_value=0),
            C("rx_drord_no", "code", "处方/医嘱号"),
            C("bilg_dr_code", "code", "开单医生编码"),
            C("bilg_dept_codg", "code", "开单科室编码"),
            C("med_type", "code", "医疗类别", known=MED_TYPE),
            C("sin_dos_dscr", "str", "单次剂量描述"),
            C("used_frqu_dscr", "str", "使用频次描述"),
            C("dscg_tkdrug_flag", "code", "出院带药标志", allowed=("0", "1")),
            C(
                "drug_trac_codg",
                "code",
                "药品追溯码",
                description="one per dispensed package when the institution scans it",
            ),
        ),
    )
)

_add(
    TableSpec(
        name="setl_list_diag_d",
        zh="结算清单诊断信息",
        group="claims",
        required=False,
        key=("setl_id", "diag_type", "diag_code"),
        columns=(
            C("setl_id", "code", "结算ID", required=True, nullable=False),
            C("mdtrt_id", "code", "就诊ID"),
            C("psn_no", "code", "人员编号"),
            C(
                "diag_type",
                "code",
                "诊断类别",
                required=True,
                nullable=False,
                known={"1": "西医诊断 western", "2": "中医诊断 TCM", "3": "中医证候 TCM syndrome"},
            ),
            C("diag_code", "code", "诊断代码", required=True, nullable=False),
            C("diag_name", "str", "诊断名称"),
            C("maindiag_flag", "code", "主诊断标志", required=True, allowed=("0", "1")),
        ),
    )
)

# --------------------------------------------------------------------------- 一单两库
_add(
    TableSpec(
        name="inspection_items",
        zh="随机抽查事项清单",
        group="registry",
        required=False,
        key=("item_id",),
        description="The 抽查事项清单 (西医保〔2020〕56号 第八条).",
        columns=(
            C("item_id", "code", "事项编号", required=True, nullable=False),
            C("item_name", "str", "抽查事项", required=True, nullable=False),
            C("target_type", "str", "检查对象", required=True),
            C("content", "str", "抽查内容", required=True),
            C(
                "item_class",
                "code",
                "事项类别",
                required=True,
                allowed=("key", "general"),
                known={"key": "重点检查事项", "general": "一般检查事项"},
            ),
            C("method", "str", "检查方式", required=True),
            C("inspecting_body", "str", "检查主体", required=True),
            C("legal_basis", "str", "检查依据", required=True),
        ),
    )
)

_add(
    TableSpec(
        name="institutions",
        zh="检查对象名录库（定点医药机构）",
        group="registry",
        required=True,
        key=("fixmedins_code",),
        description="The target registry (检查对象名录库, 西医保〔2020〕56号 第九条): every designated institution.",
        columns=(
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("fixmedins_name", "str", "机构名称", required=True, nullable=False),
            C("uscc", "code", "统一社会信用代码"),
            C(
                "medins_type",
                "code",
                "机构类型",
                required=True,
                nullable=False,
                allowed=tuple(MEDINS_TYPE),
                known=MEDINS_TYPE,
            ),
            C(
                "hosp_lv",
                "code",
                "医院等级",
                required=True,
                nullable=False,
                allowed=tuple(HOSP_LV),
                known=HOSP_LV,
            ),
            C(
                "ownership",
                "code",
                "所有制",
                required=True,
                allowed=("public", "private"),
                known={"public": "公立", "private": "民营"},
            ),
            C("region", "code", "所在区划", required=True, nullable=False),
            C(
                "specialty",
                "code",
                "专科类别",
                description="general, oncology, dialysis, rehabilitation, psychiatric, chronic_pharmacy, …",
            ),
            C("address", "str", "营业（执业）场所"),
            C("legal_rep", "str", "法定代表人"),
            C("business_scope", "str", "经营范围"),
            C(
                "status",
                "code",
                "状态",
                allowed=("active", "suspended", "closed"),
                known={"active": "正常", "suspended": "暂停", "closed": "注销"},
            ),
        ),
    )
)

_add(
    TableSpec(
        name="inspectors",
        zh="执法检查人员名录库",
        group="registry",
        required=False,
        key=("inspector_id",),
        description="Only staff with a valid enforcement certificate (执法证) may be drawn.",
        columns=(
            C("inspector_id", "code", "检查人员编号", required=True, nullable=False),
            C("inspector_name", "str", "姓名", required=True, pii=True),
            C("unit", "code", "所属单位", required=True, nullable=False),
            C("cert_no", "code", "执法证号", required=True),
            C("cert_valid_until", "date", "执法证有效期至", required=True),
            C("expertise", "str", "专业领域"),
            C(
                "status",
                "code",
                "状态",
                required=True,
                allowed=("active", "leave", "retired"),
                known={"active": "在岗", "leave": "请假/借调", "retired": "离岗"},
            ),
        ),
    )
)

_add(
    TableSpec(
        name="conflicts",
        zh="利害关系回避名单",
        group="registry",
        required=False,
        key=("inspector_id", "fixmedins_code"),
        columns=(
            C("inspector_id", "code", "检查人员编号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("reason", "str", "回避原因", required=True),
        ),
    )
)

# --------------------------------------------------------------------------- procurement
_add(
    TableSpec(
        name="procurement_agreements",
        zh="集中带量采购协议",
        group="procurement",
        required=False,
        key=("agreement_id",),
        columns=(
            C("agreement_id", "code", "协议编号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("product_code", "code", "产品编码（医保目录编码）", required=True, nullable=False),
            C("generic_name", "str", "通用名"),
            C("generic_group", "code", "通用名组", required=True, nullable=False),
            C(
                "selected_flag",
                "code",
                "中选标志",
                required=True,
                allowed=("0", "1"),
                known={"1": "中选", "0": "非中选"},
            ),
            C("agreed_volume", "float", "约定采购量", required=True, min_value=0),
            C("last_year_volume", "float", "上年度实际采购量", min_value=0),
            C("reported_demand", "float", "报送需求量", min_value=0),
            C("cycle_start", "date", "采购周期开始", required=True),
            C("cycle_end", "date", "采购周期结束", required=True),
        ),
        row_checks=(
            RowCheck("end_before_begin", "le", "cycle_start", "cycle_end", "周期结束早于开始"),
        ),
    )
)

_add(
    TableSpec(
        name="purchases",
        zh="药品耗材采购记录",
        group="procurement",
        required=False,
        key=("purchase_id",),
        columns=(
            C("purchase_id", "code", "采购单号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("product_code", "code", "产品编码", required=True, nullable=False),
            C("generic_group", "code", "通用名组"),
            C("selected_flag", "code", "中选标志", allowed=("0", "1")),
            C("qty", "float", "采购数量", required=True, nullable=False),
            C("amount", "float", "采购金额", required=True, nullable=False),
            C("purchase_price", "float", "采购单价", required=True, min_value=0),
            C("order_date", "date", "订单日期"),
            C("accept_date", "date", "验收日期", required=True),
            C("pay_date", "date", "付款日期"),
            C(
                "on_platform",
                "code",
                "平台采购标志",
                required=True,
                allowed=("0", "1"),
                known={"1": "省级招采平台", "0": "线下（平台外）"},
            ),
        ),
    )
)

_add(
    TableSpec(
        name="stock_moves",
        zh="进销存记录",
        group="procurement",
        required=False,
        key=("move_id",),
        columns=(
            C("move_id", "code", "流水号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("product_code", "code", "产品编码（医保目录编码）", required=True, nullable=False),
            C("move_date", "date", "日期", required=True, nullable=False),
            C(
                "move_type",
                "code",
                "类型",
                required=True,
                allowed=("in", "sale", "return", "loss", "opening"),
                known={
                    "opening": "期初库存",
                    "in": "入库",
                    "sale": "销售出库",
                    "return": "退货",
                    "loss": "报损",
                },
            ),
            C("qty", "float", "数量", required=True, nullable=False, min_value=0),
        ),
    )
)

_add(
    TableSpec(
        name="drug_prices",
        zh="药品耗材销售价格",
        group="procurement",
        required=False,
        key=("fixmedins_code", "product_code", "eff_date"),
        columns=(
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("product_code", "code", "产品编码", required=True, nullable=False),
            C("sale_price", "float", "销售单价", required=True, min_value=0),
            C("eff_date", "date", "生效日期", required=True, nullable=False),
        ),
    )
)


# --------------------------------------------------------------------------- 进销存 uploads
def _inv_columns(kind: str) -> tuple[ColumnSpec, ...]:
    """Columns of the 进销存 upload tables (interfaces 3501–3506) in platform field names."""
    head = (
        C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
        C("med_list_codg", "code", "医疗目录编码", required=True, nullable=False),
        C("fixmedins_hilist_id", "code", "定点医药机构目录编号"),
        C("fixmedins_hilist_name", "str", "定点医药机构目录名称"),
        C("fixmedins_bchno", "code", "定点医药机构批次流水号"),
        C("rx_flag", "code", "处方药标志"),
        C("manu_lotnum", "code", "生产批号"),
        C("manu_date", "date", "生产日期"),
        C("expy_end", "date", "有效期止"),
    )
    if kind == "stocktake":
        body = (
            C("invdate", "date", "盘存日期", required=True, nullable=False),
            C("inv_cnt", "float", "库存数量", required=True, nullable=False, min_value=0),
        )
    elif kind == "change":
        body = (
            C("inv_chg_type", "code", "库存变更类型", required=True, nullable=False),
            C("pric", "float", "单价", min_value=0),
            C("cnt", "float", "数量", required=True, nullable=False),
            C("inv_chg_time", "datetime", "库存变更时间", required=True, nullable=False),
            C("trdn_flag", "code", "拆零标志"),
        )
    elif kind == "purchase":
        body = (
            C("dynt_no", "code", "随货单号"),
            C("spler_name", "str", "供应商名称"),
            C("prdr_name", "str", "生产厂家名称"),
            C("aprvno", "code", "批准文号"),
            C("finl_trns_pric", "float", "最终成交单价", min_value=0),
            C("purc_retn_cnt", "float", "采购/退货数量", required=True, nullable=False),
            C("purc_invo_no", "code", "采购发票号"),
            C(
                "purc_retn_stoin_time",
                "datetime",
                "采购/退货入库时间",
                required=True,
                nullable=False,
            ),
            C("drug_trac_codg", "code", "药品追溯码", description="one row per traced package"),
        )
    else:  # sale
        body = (
            C("setl_id", "code", "结算ID"),
            C("mdtrt_sn", "code", "就医流水号"),
            C("psn_no", "code", "人员编号"),
            C("prsc_dr_name", "str", "开方医师姓名"),
            C("phar_name", "str", "药师姓名"),
            C("trdn_flag", "code", "拆零标志"),
            C("finl_trns_pric", "float", "最终成交单价", min_value=0),
            C("pric", "float", "销售单价", min_value=0),
            C("sel_retn_cnt", "float", "销售/退货数量", required=True, nullable=False),
            C("sel_retn_time", "datetime", "销售/退货时间", required=True, nullable=False),
            C("drug_trac_codg", "code", "药品追溯码", description="one row per traced package"),
            C("certno", "code", "证件号码", pii=True),
            C("psn_name", "str", "姓名", pii=True),
        )
    return head + body


for _name, _zh, _iface, _kind, _key in (
    ("inv_stocktake", "商品盘存", "3501", "stocktake", ()),
    ("inv_change", "商品信息变更/库存变更", "3502", "change", ()),
    ("inv_purchase", "商品采购", "3503", "purchase", ()),
    ("inv_purchase_return", "商品采购退货", "3504", "purchase", ()),
    ("inv_sale", "商品销售", "3505", "sale", ()),
    ("inv_sale_return", "商品销售退货", "3506", "sale", ()),
):
    _add(
        TableSpec(
            name=_name,
            zh=_zh,
            group="inventory",
            required=False,
            key=_key,
            description=(
                f"进销存 upload, platform interface {_iface} ({_zh}), platform field names. "
                "When `purchases` / `stock_moves` are absent they are derived from these tables "
                "(purchases from 3503; stock from 3501 opening counts, 3503/3504 in, 3505/3506 "
                "sales), so the substitution and zero-markup indicators read them."
            ),
            columns=_inv_columns(_kind),
        )
    )

# --------------------------------------------------------------------------- credit, results
_add(
    TableSpec(
        name="credit_ratings",
        zh="信用风险分类结果",
        group="credit",
        required=False,
        key=("fixmedins_code", "rating_date"),
        columns=(
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C(
                "rating",
                "code",
                "信用等级",
                required=True,
                nullable=False,
                allowed=("A", "B", "C", "D"),
                known={"A": "信用好/风险低", "B": "较好", "C": "一般/风险较高", "D": "差/风险高"},
            ),
            C("rating_date", "date", "评定日期", required=True, nullable=False),
        ),
    )
)

_add(
    TableSpec(
        name="inspection_results",
        zh="抽查检查结果",
        group="results",
        required=False,
        key=("result_id",),
        description="Per inspected institution and item; only origin=draw enters the estimators.",
        columns=(
            C("result_id", "code", "结果编号", required=True, nullable=False),
            C("fixmedins_code", "code", "定点医药机构编号", required=True, nullable=False),
            C("item_id", "code", "抽查事项编号"),
            C(
                "origin",
                "code",
                "检查来源",
                required=True,
                nullable=False,
                allowed=("draw", "complaint", "special", "referral", "media", "monitoring"),
                known={
                    "draw": "双随机抽查",
                    "complaint": "投诉举报",
                    "special": "专项检查",
                    "referral": "移送/交办",
                    "media": "媒体曝光",
                    "monitoring": "智能监控",
                },
            ),
            C("draw_round", "code", "抽查批次"),
            C("inspect_date", "date", "检查日期", required=True),
            C("violation_found", "int", "是否发现违规", required=True, nullable=False),
            C("violation_types", "str", "违规类型（family id，分号分隔）"),
            C("improper_amount", "float", "违规金额", required=True, min_value=0),
            C("recovered_amount", "float", "追回金额", min_value=0),
            C("penalty_amount", "float", "罚款金额", min_value=0),
            C("rectify_deadline", "date", "整改期限"),
            C("rectify_done_date", "date", "整改完成日期"),
            C("followup_date", "date", "回访日期"),
            C("referral_to", "str", "移送机关（纪检、公安等）"),
        ),
    )
)

FAMILIES: dict[str, tuple[str, str]] = {
    "over_prescription": ("超量开药", "over-prescription"),
    "duplicate_prescribing": ("重复开药", "duplicate prescribing"),
    "split_prescription": ("分解处方", "split prescriptions"),
    "split_hospitalization": ("分解住院", "split hospitalization"),
    "bed_hanging": ("挂床住院", "bed-hanging"),
    "over_testing": ("过度检查", "over-testing"),
    "duplicate_charging": ("重复收费", "duplicate charging"),
    "restricted_items": ("超限定范围用药/诊疗", "restricted items"),
    "substitution": ("串换药品耗材项目", "substitution"),
    "identity_fraud": ("冒名/虚假就医", "identity fraud"),
    "procurement": ("集中采购违规", "procurement non-compliance"),
    "zero_markup": ("违反零差率销售", "zero-markup violation"),
    "abnormal_utilization": ("异常诊疗与费用", "abnormal utilisation"),
    "drug_resale": ("回流药/追溯码重复销售", "resold drugs (traceability code sold twice)"),
}
"""Violation family ids (public contract) with Chinese and English names."""


def contract_markdown() -> str:
    """Render the contract as Markdown (the body of ``docs/data_contract.md``)."""
    lines = [
        "# Data contract (数据契约)",
        "",
        "Generated from `riskscore.contract` by `riskscore contract --markdown`; do not edit by hand.",
        "",
        "A data folder holds one file per table, named `<table>.csv` (UTF-8, UTF-8 with BOM, "
        "GB18030/GBK), `<table>.xlsx` or `<table>.parquet`. Required tables: "
        + ", ".join(f"`{t.name}`" for t in TABLES.values() if t.required)
        + ". Every other table is optional: steps that need a missing table are skipped and say so.",
        "",
        "Rows that break a rule are quarantined with a reason (never dropped silently); a missing "
        "required column, an unreadable file or an unknown encoding stops the run with one line "
        "naming the file, the column and what was expected.",
        "",
    ]
    for t in TABLES.values():
        lines += [
            f"## `{t.name}` — {t.zh}",
            "",
            f"Group: {t.group}. {'**Required table.**' if t.required else 'Optional table.'} "
            f"Key: {', '.join(f'`{k}`' for k in t.key)}. {t.description}",
            "",
            "| field | 中文 | type | required | codes / notes |",
            "|---|---|---|---|---|",
        ]
        for c in t.columns:
            notes = []
            if c.allowed:
                notes.append("allowed: " + ", ".join(c.allowed))
            if c.known:
                notes.append("; ".join(f"{k}={v}" for k, v in c.known.items()))
            if c.zfill:
                notes.append(f"zero-padded to {c.zfill}")
            if c.min_value is not None:
                notes.append(f"≥ {c.min_value:g}")
            if c.pii:
                notes.append("**personal data — never published**")
            if c.description:
                notes.append(c.description)
            req = "yes" if c.required else ""
            if c.required and not c.nullable:
                req = "yes, non-empty"
            lines.append(f"| `{c.name}` | {c.zh} | {c.dtype} | {req} | {' · '.join(notes)} |")
        if t.row_checks:
            lines.append("")
            lines.append(
                "Row checks: "
                + "; ".join(f"`{r.left} <= {r.right}` ({r.name}, {r.zh})" for r in t.row_checks)
            )
        lines.append("")
    lines += _layouts_markdown() + _dictionaries_markdown()
    lines += [
        "## Violation families (违规类型 family ids)",
        "",
        "| family id | 中文 | English |",
        "|---|---|---|",
    ]
    lines += [f"| `{k}` | {zh} | {en} |" for k, (zh, en) in FAMILIES.items()]
    lines.append("")
    return "\n".join(lines)


def _layouts_markdown() -> list[str]:
    from riskscore.layouts import PLATFORM_FIELDS

    lines = [
        "## Accepted layouts (可接受的文件格式)",
        "",
        "- Headers match the field names case-insensitively (`MDTRT_ID` = `mdtrt_id`), with "
        "surrounding single or double quotes removed, or the Chinese name of the field.",
        "- Fields may be enclosed in double quotes or, as database exports write them, in single "
        "quotes (`'H34010200001'`); line ends LF or CRLF; separator `,`, tab, `|` or `;`.",
        "- A leading row-number column (`rn`, `rownum`, `序号`, `行号`, or no header) is dropped.",
        "- Platform exports carry every field of a table; the fields below that the contract does "
        "not use are ignored (listed once by `riskscore validate`). Other unknown columns are kept "
        "as text.",
        "- Identifiers in scientific notation with missing digits (`3.401E+15`) or id cells that "
        "were numbers in Excel (more than 15 digits) are never repaired: the row is quarantined "
        "with `code_precision_lost:<column>`; a key column where most values are affected is "
        "refused with a line saying to re-export it as text.",
        "- Person fields (`gend`, `brdy`, `die_date`) may come on `mdtrt_d` / `setl_d` instead of "
        "`psn_info_b`; the indicators then take the person from the encounters.",
        "",
    ]
    for name, fields in PLATFORM_FIELDS.items():
        lines += [
            f"Platform layout of `{name}` ({len(fields)} fields, export order): "
            + ", ".join(f"`{f}`" for f in fields),
            "",
        ]
    return lines


def _dictionaries_markdown() -> list[str]:
    from riskscore.io.dictionaries import default_dictionaries

    d = default_dictionaries()
    lines = [
        "## Code dictionaries (字典映射)",
        "",
        f"Shipped file `riskscore/data/dictionaries.yaml`, version `{d.version}`. Values are "
        "matched after trimming, case-insensitively; a bureau extends or overrides the mapping "
        "with `dictionaries.yaml` in the data folder or `--dictionaries FILE` (its variants win). "
        "The mapping used (version, files, hash and the cells mapped per column) is recorded in "
        "`riskscore validate --json` under `dictionaries`. A value no dictionary maps is "
        "quarantined as `not_allowed:<column>`; the legend of `validate` lists the allowed codes.",
        "",
        "| dictionary | 中文 | columns | code ← accepted variants |",
        "|---|---|---|---|",
    ]
    for name, dic in d.dictionaries.items():
        cols = ", ".join(f"`{c}`" for c in dic.columns) or "(fixmedins_b)"
        if dic.open:
            cols += " (open: other codes accepted, unmapped labels quarantined)"
        codes = "; ".join(f"`{c}` ← " + ", ".join(v) for c, v in dic.codes.items())
        lines.append(f"| `{name}` | {dic.zh} | {cols} | {codes} |")
    lines.append("")
    return lines
