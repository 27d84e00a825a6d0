"""Code tables of the registry (domain.md 2): stable English codes with their Chinese labels.

Imports match Chinese labels (and the synonyms listed here) back to codes.
"""

from __future__ import annotations

IDENTIFICATION_STANDARD = {"national": "国家标准", "provincial": "省定标准", "city": "市定标准"}
ATTRIBUTE = {"general": "一般贫困户", "dibao": "低保贫困户", "tekun": "特困供养贫困户"}
ATTRIBUTE_SYNONYMS = {
    "五保户": "tekun",
    "五保贫困户": "tekun",
    "特困户": "tekun",
    "低保户": "dibao",
}
CAUSE = {
    "illness": "因病",
    "disability": "因残",
    "schooling": "因学",
    "disaster": "因灾",
    "marriage": "因婚",
    "funeral": "因丧",
    "lack_land": "缺土地",
    "lack_water": "缺水",
    "lack_skills": "缺技术",
    "lack_capital": "缺资金",
    "lack_labour": "缺劳力",
    "poor_transport": "交通条件落后",
    "lack_drive": "自身发展动力不足",
    "other": "其他",
}
POVERTY_STATUS = {
    "not_registered": "未建档立卡(一般农户)",
    "not_exited": "未脱贫",
    "exited_with_policy": "已脱贫(享受政策)",
    "exited_no_policy": "已脱贫(不再享受政策)",
    "returned": "返贫",
    "removed": "清退(错评)",
    "closed": "销户(自然销户)",
}
EXITED_STATUSES = ("exited_with_policy", "exited_no_policy")
REMAINING_STATUSES = ("not_exited", "returned")
REGISTERED_STATUSES = EXITED_STATUSES + REMAINING_STATUSES
CLOSED_STATUSES = ("removed", "closed")  # off the registry: no more changes to members
# An ordinary rural household (一般农户), in the registry since monitoring covers every rural
# household (domain.md 3.6, 3.7): neither registered nor poor. An identification case starts from
# it; a household that was never registered has it from its first status entry.
NOT_REGISTERED = "not_registered"
HOUSE_GRADE = {"A": "A级", "B": "B级", "C": "C级", "D": "D级"}
HOUSE_STRUCTURE = {
    "brick_concrete": "砖混",
    "brick_wood": "砖木",
    "earth_wood": "土木",
    "steel_concrete": "钢混",
    "other": "其他",
}
ROAD_TYPE = {"hardened": "水泥路/柏油路", "gravel": "砂石路", "dirt": "泥土路", "none": "无"}
FUEL_TYPE = {"firewood": "柴草", "coal": "煤", "gas": "燃气", "electricity": "电", "other": "其他"}
MONITORING_CATEGORY = {
    "unstable_exited": "脱贫不稳定户",
    "edge": "边缘易致贫户",
    "sudden_hardship": "突发严重困难户",
}
RISK_TYPE = {
    "illness": "因病",
    "disability": "因残",
    "schooling": "因学",
    "disaster": "因灾",
    "accident": "因意外事故",
    "unemployment": "因失业",
    "income_drop": "收入骤减",
    "high_spending": "支出骤增",
    "housing": "住房出现安全问题",
    "water": "饮水安全问题",
    "other": "其他",
}
RISK_STATUS = {"not_eliminated": "风险未消除", "eliminated": "风险已消除"}
ELIMINATION_METHOD = {"by_assistance": "帮扶消除", "natural": "自然消除"}

SEX = {"male": "男", "female": "女"}
RELATION = {
    "head": "户主",
    "spouse": "配偶",
    "son": "之子",
    "daughter": "之女",
    "son_in_law": "之女婿",
    "daughter_in_law": "之儿媳",
    "grandchild": "之孙子女",
    "parent": "之父母",
    "parent_in_law": "之公婆/岳父母",
    "grandparent": "之祖父母",
    "sibling": "之兄弟姐妹",
    "other": "其他",
}
EDUCATION = {
    "illiterate": "文盲或半文盲",
    "primary": "小学",
    "junior": "初中",
    "senior": "高中",
    "vocational": "中专/中职",
    "college": "大专及以上",
    "preschool": "学龄前儿童",
}
POLITICAL_STATUS = {
    "masses": "群众",
    "party_member": "中共党员",
    "league_member": "共青团员",
    "other": "其他",
}
SCHOOL_STATUS = {
    "not_student": "非在校生",
    "preschool": "学前教育",
    "primary": "小学",
    "junior": "初中",
    "senior": "高中",
    "secondary_vocational": "中职",
    "higher": "大专及以上",
    "dropped_out": "辍学",
    "home_taught": "送教上门",
    "exempt": "因身体原因免学",
}
HEALTH_STATUS = {
    "healthy": "健康",
    "chronic": "长期慢性病",
    "serious_illness": "患有大病",
    "disabled": "残疾",
}
LABOUR_CAPACITY = {
    "ordinary": "普通劳动力",
    "skilled": "技能劳动力",
    "weak": "弱劳动力或半劳动力",
    "lost": "丧失劳动力",
    "none": "无劳动力",
}
WORK_STATUS = {
    "local": "乡镇内务工",
    "county": "县内务工",
    "province": "省内县外务工",
    "outside": "省外务工",
    "none": "未务工",
    "other": "其他",
}
ETHNICITY = {
    "han": "汉族",
    "manchu": "满族",
    "mongol": "蒙古族",
    "hui": "回族",
    "korean": "朝鲜族",
    "dong": "侗族",
    "miao": "苗族",
    "other": "其他",
}


def choices(table: dict[str, str]) -> list[tuple[str, str]]:
    return list(table.items())
