"""Platform extract layouts (平台导出表结构): every field of a claims table, in export order.

Exports from the national 医保信息平台 database carry every field of a table in a fixed order
(``mdtrt_d`` 94 fields, ``setl_d`` 89, ``fee_list_d`` 83, ``setl_list_diag_d`` 12), of which the
indicators use a few. The loaders read the contract columns of such a file and ignore the other
platform fields (listed once by ``riskscore validate``); columns that are neither are kept as
text. The lists also let tests and ``riskscore synth`` write a folder in the platform layout.
"""

from __future__ import annotations

PLATFORM_FIELDS: dict[str, tuple[str, ...]] = {
    "mdtrt_d": tuple(
        """
        mdtrt_id medins_setl_id psn_no psn_insu_rlts_id psn_cert_type certno psn_type psn_name
        naty gend brdy age coner_name tel addr insutype emp_no emp_name emp_type cvlserv_flag
        cvlserv_lv sp_psn_type sp_psn_type_lv clct_grde flxempe_flag nwb_flag insu_admdvs
        emp_mgt_type pay_loc insu_optins fixmedins_code fixmedins_name hosp_lv fix_blng_admdvs
        lmtpric_hosp_lv dedc_hosp_lv begntime endtime mdtrt_cert_type mdtrt_cert_no med_type
        rloc_type ars_year_ipt_flag pre_pay_flag year refl_old_mdtrt_id ipt_otp_no medrcdno
        chfpdr_code chfpdr_name adm_diag_dscr adm_dept_codg adm_dept_name adm_bed wardarea_bed
        traf_dept_flag dscg_maindiag_code dscg_maindiag_name dscg_dept_codg dscg_dept_name
        dscg_bed dscg_way main_cond_dscr dise_no dise_name oprn_oprt_code oprn_oprt_name
        otp_diag_info inhosp_stas die_date ipt_days fpsc_no matn_type birctrl_type latechb_flag
        geso_val fetts fetus_cnt pret_flag prey_time birctrl_matn_date cop_flag trt_dcla_detl_sn
        vali_flag memo opter_id opter_name opt_time crter_id crter_name crte_time crte_optins_no
        updt_time poolarea_no
        """.split()
    ),
    "setl_d": tuple(
        """
        setl_id mdtrt_id psn_no psn_name psn_cert_type certno gend naty brdy age insutype
        psn_type cvlserv_flag cvlserv_lv sp_psn_type sp_psn_type_lv clct_grde flxempe_flag
        nwb_flag insu_admdvs emp_no emp_name emp_type emp_mgt_type pay_loc insu_optins
        fixmedins_code fixmedins_name hosp_lv fix_blng_admdvs lmtpric_hosp_lv dedc_hosp_lv
        begndate enddate setl_time mdtrt_cert_type mdtrt_cert_no med_type setl_type clr_type
        clr_way clr_optins psn_setlway setl_cashpay_way medfee_sumamt fulamt_ownpay_amt
        overlmt_selfpay preselfpay_amt inscp_amt dedc_std crt_dedc act_pay_dedc hifp_pay
        pool_prop_selfpay hi_agre_sumfee cvlserv_pay hifes_pay hifmi_pay hifob_pay hifdm_pay
        maf_pay othfund_pay fund_pay_sumamt psn_pay acct_pay cash_payamt ownpay_hosp_part
        hosp_part_amt balc acct_mulaid_pay refd_setl_flag year dise_no dise_name invono
        exp_content opter_id opter_name opt_time medins_setl_id vali_flag memo crter_id
        crter_name crte_time crte_optins_no updt_time poolarea_no die_date
        """.split()
    ),
    "fee_list_d": tuple(
        """
        bkkp_sn mdtrt_id setl_id psn_no psn_insu_rlts_id fixmedins_code fixmedins_name
        insu_admdvs pay_loc insu_optins med_type fee_ocur_time rx_drord_no med_list_codg
        medins_list_codg medins_list_name hilist_code hilist_name list_type med_chrgitm_type
        chrgitm_lv cnt pric hilist_lmtpric_type pric_uplmt_amt det_item_fee_sumamt inscp_amt
        fulamt_ownpay_amt overlmt_selfpay preselfpay_amt cvlserv_bedfee_amt medins_disc_amt
        selfpay_prop prodname spec dosform_name bilg_dept_codg bilg_dept_name bilg_dr_code
        bilg_dr_name acord_dept_codg acord_dept_name acord_dr_code acord_dr_name sin_dos_dscr
        used_frqu_dscr prd_days medc_way_dscr bas_medn_flag hi_nego_drug_flag chld_medc_flag
        lmt_used_flag hosp_prep_flag hosp_appr_flag tcmdrug_used_way tcmherb_foote prodplac_type
        etip_flag etip_hosp_code dscg_tkdrug_flag list_sp_item_flag matn_fee_flag drt_reim_flag
        reim_prop dise_codg oprn_oprt_code exp_content memo vali_flag rid updt_time crter_id
        crter_name crte_time crte_optins_no opter_id opter_name opt_time opt_optins_no
        poolarea_no rx_circ_flag chrg_bchno drug_trac_codg
        """.split()
    ),
    "setl_list_diag_d": tuple(
        """
        setl_list_diag_id setl_id psn_no mdtrt_id diag_type maindiag_flag diag_code diag_name
        adm_cond_type vali_flag rid updt_time
        """.split()
    ),
}
"""Table → platform field names in export order."""
