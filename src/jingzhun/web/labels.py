"""Code labels shown in pages, marked for translation.

The labels live in registry.choices and access.models as plain Chinese strings (they are also
matched by imports). Listing them here lets makemessages keep their English entries; the `label`
template filter translates them at render time. A test checks that none is missing.
"""

from __future__ import annotations

from typing import cast

from django.utils.functional import lazy
from django.utils.translation import get_language, gettext_noop

from jingzhun.registry import dictionary

NOTICE_KINDS = (
    gettext_noop("贫困户识别公示"),
    gettext_noop("贫困户退出公示"),
    gettext_noop("防返贫监测对象识别公示"),
    gettext_noop("监测对象风险消除公示"),
)

LABELS = (
    gettext_noop("一般贫困户"),
    gettext_noop("低保贫困户"),
    gettext_noop("特困供养贫困户"),
    gettext_noop("因病"),
    gettext_noop("因残"),
    gettext_noop("因学"),
    gettext_noop("因灾"),
    gettext_noop("因婚"),
    gettext_noop("因丧"),
    gettext_noop("缺土地"),
    gettext_noop("缺水"),
    gettext_noop("缺技术"),
    gettext_noop("缺资金"),
    gettext_noop("缺劳力"),
    gettext_noop("交通条件落后"),
    gettext_noop("自身发展动力不足"),
    gettext_noop("其他"),
    gettext_noop("文盲或半文盲"),
    gettext_noop("小学"),
    gettext_noop("初中"),
    gettext_noop("高中"),
    gettext_noop("中专/中职"),
    gettext_noop("大专及以上"),
    gettext_noop("学龄前儿童"),
    gettext_noop("帮扶消除"),
    gettext_noop("自然消除"),
    gettext_noop("汉族"),
    gettext_noop("满族"),
    gettext_noop("蒙古族"),
    gettext_noop("回族"),
    gettext_noop("朝鲜族"),
    gettext_noop("侗族"),
    gettext_noop("苗族"),
    gettext_noop("柴草"),
    gettext_noop("煤"),
    gettext_noop("燃气"),
    gettext_noop("电"),
    gettext_noop("健康"),
    gettext_noop("长期慢性病"),
    gettext_noop("患有大病"),
    gettext_noop("残疾"),
    gettext_noop("A级"),
    gettext_noop("B级"),
    gettext_noop("C级"),
    gettext_noop("D级"),
    gettext_noop("砖混"),
    gettext_noop("砖木"),
    gettext_noop("土木"),
    gettext_noop("钢混"),
    gettext_noop("国家标准"),
    gettext_noop("省定标准"),
    gettext_noop("市定标准"),
    gettext_noop("普通劳动力"),
    gettext_noop("技能劳动力"),
    gettext_noop("弱劳动力或半劳动力"),
    gettext_noop("丧失劳动力"),
    gettext_noop("无劳动力"),
    gettext_noop("脱贫不稳定户"),
    gettext_noop("边缘易致贫户"),
    gettext_noop("突发严重困难户"),
    gettext_noop("群众"),
    gettext_noop("中共党员"),
    gettext_noop("共青团员"),
    gettext_noop("未建档立卡(一般农户)"),
    gettext_noop("未脱贫"),
    gettext_noop("已脱贫(享受政策)"),
    gettext_noop("已脱贫(不再享受政策)"),
    gettext_noop("返贫"),
    gettext_noop("清退(错评)"),
    gettext_noop("销户(自然销户)"),
    gettext_noop("户主"),
    gettext_noop("配偶"),
    gettext_noop("之子"),
    gettext_noop("之女"),
    gettext_noop("之女婿"),
    gettext_noop("之儿媳"),
    gettext_noop("之孙子女"),
    gettext_noop("之父母"),
    gettext_noop("之公婆/岳父母"),
    gettext_noop("之祖父母"),
    gettext_noop("之兄弟姐妹"),
    gettext_noop("风险未消除"),
    gettext_noop("风险已消除"),
    gettext_noop("因意外事故"),
    gettext_noop("因失业"),
    gettext_noop("收入骤减"),
    gettext_noop("支出骤增"),
    gettext_noop("住房出现安全问题"),
    gettext_noop("饮水安全问题"),
    gettext_noop("水泥路/柏油路"),
    gettext_noop("砂石路"),
    gettext_noop("泥土路"),
    gettext_noop("无"),
    gettext_noop("非在校生"),
    gettext_noop("学前教育"),
    gettext_noop("中职"),
    gettext_noop("辍学"),
    gettext_noop("送教上门"),
    gettext_noop("因身体原因免学"),
    gettext_noop("男"),
    gettext_noop("女"),
    gettext_noop("乡镇内务工"),
    gettext_noop("县内务工"),
    gettext_noop("省内县外务工"),
    gettext_noop("省外务工"),
    gettext_noop("未务工"),
    gettext_noop("县级业务人员"),
    gettext_noop("乡镇业务人员"),
    gettext_noop("村级干部"),
    gettext_noop("帮扶责任人"),
    gettext_noop("审计查阅人员"),
    gettext_noop("系统管理员"),
    gettext_noop("安全管理员"),
    gettext_noop("审计管理员"),
    gettext_noop("行业部门联络员"),
    gettext_noop("核查组成员"),
    gettext_noop("驻村工作队员"),
    gettext_noop("未分配角色"),
)

# Household plans (assistance): measure statuses, and the names of the measure catalogue
# (policies/tables/measure_kinds.yaml: kinds, departments, coverage rules). A test checks that
# every name of the catalogue in effect is listed.
MEASURE_LABELS = (
    gettext_noop("待审批"),
    gettext_noop("已批准"),
    gettext_noop("实施中"),
    gettext_noop("已完成"),
    gettext_noop("已取消"),
    gettext_noop("未批准"),
    gettext_noop("产业帮扶"),
    gettext_noop("就业帮扶"),
    gettext_noop("公益性岗位"),
    gettext_noop("教育资助"),
    gettext_noop("医疗救助"),
    gettext_noop("危房改造"),
    gettext_noop("易地搬迁后续扶持"),
    gettext_noop("低保/特困衔接"),
    gettext_noop("小额信贷"),
    gettext_noop("入股分红"),
    gettext_noop("光伏收益"),
    gettext_noop("技能培训"),
    gettext_noop("消费帮扶"),
    gettext_noop("农业农村局"),
    gettext_noop("人力资源和社会保障局"),
    gettext_noop("教育局"),
    gettext_noop("卫生健康局（医保局）"),
    gettext_noop("住房和城乡建设局"),
    gettext_noop("发展和改革局"),
    gettext_noop("民政局"),
    gettext_noop("财政局（金融机构）"),
    gettext_noop("商务局"),
    gettext_noop("每户至少 2 项产业带动"),
    gettext_noop("监测户每项风险类型均有对应措施"),
)


def _field_label(key: str) -> str:
    entry = dictionary.FIELDS[key]
    return entry.label_en if (get_language() or "").startswith("en") else entry.label


# made once: lazy() builds a proxy class on every call (about 1 ms; the household card called it
# about 40 times a request, issue 26)
_lazy_field_label = lazy(_field_label, str)


def field_label(key: str) -> str:
    """A field's label in the active language, lazily: the data dictionary holds both (the
    Chinese label and `label_en`), so field labels need no catalogue entries."""
    return cast(str, _lazy_field_label(key))
