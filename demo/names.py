"""Name pools for the fictional demo city 民安市. Every name is generated; none is a real place list."""

from __future__ import annotations

import random

CITY_NAME = "民安市"
DISTRICT_NAMES = ["云湖区", "安澜区", "明德区", "景川区", "清源区", "北苑区"]

# Two-character place names are built from a first and a second syllable.
_FIRST = (
    "安和平兴华明德清泉柳枫桃杏梅兰松竹金银玉宝瑞祥福康宁静嘉佳新永长广盛昌隆泰丰庆顺"
    "东西南北青翠碧紫红白云霞雁鹤凤龙虎龟麒星月日光朝阳春夏秋冬文武仁义礼智信忠孝"
)
_SECOND = "园里门桥庄湖山河苑坊营屯店堡岭塘湾林泽亭台阁洲滨源溪坡峪沟岗"
_URBAN_COMMUNITY_SUFFIXES = ("社区", "东里社区", "西里社区", "南里社区", "北里社区", "新村社区", "家园社区")
_VILLAGE_SUFFIXES = ("村", "庄村", "屯村", "营村", "店村")
_ROAD_SUFFIXES = ("路", "街", "大街", "东路", "西路", "南路", "北路", "中路", "胡同", "巷", "大道")
_ESTATE_SUFFIXES = ("小区", "家园", "花园", "嘉园", "新村", "公寓", "雅苑", "华府", "名苑", "里")

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志强海燕春秋文斌晓东丹丹"


class NamePool:
    """Draws unique names from a shuffled pool; falls back to numbered names when it runs dry."""

    def __init__(self, words: list[str], rng: random.Random) -> None:
        self._words = list(words)
        rng.shuffle(self._words)
        self._used: set[str] = set()
        self._next = 0

    def take(self, suffix: str) -> str:
        while self._next < len(self._words):
            name = self._words[self._next] + suffix
            self._next += 1
            if name not in self._used:
                self._used.add(name)
                return name
        n = len(self._used) + 1
        while f"第{n}{suffix}" in self._used:
            n += 1
        name = f"第{n}{suffix}"
        self._used.add(name)
        return name


def two_char_words() -> list[str]:
    return [a + b for a in _FIRST for b in _SECOND if a != b]


def community_suffix(rng: random.Random, *, rural: bool) -> str:
    if rural:
        return rng.choice(_VILLAGE_SUFFIXES)
    return rng.choice(_URBAN_COMMUNITY_SUFFIXES)


def road_name(word: str, rng: random.Random) -> str:
    return word + rng.choice(_ROAD_SUFFIXES)


def estate_name(word: str, rng: random.Random) -> str:
    return word + rng.choice(_ESTATE_SUFFIXES)


def person_name(rng: random.Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(_SURNAMES) + given


# The city departments (条). The catalog's responsibility rules resolve these exact names.
CITY_DEPARTMENTS = [
    "市城市管理委员会",
    "市生态环境局",
    "市交通委员会",
    "市住房和城乡建设委员会",
    "市教育委员会",
    "市卫生健康委员会",
    "市人力资源和社会保障局",
    "市市场监督管理局",
    "市公安局",
    "市民政局",
    "市水务局",
    "市园林绿化局",
    "市规划和自然资源委员会",
    "市商务局",
    "市文化和旅游局",
    "市应急管理局",
    "市医疗保障局",
    "市税务局",
    "市消防救援支队",
    "市城管执法局",
    "市发展和改革委员会",
    "市财政局",
    "市司法局",
    "市农业农村局",
    "市体育局",
    "市退役军人事务局",
    "市政务服务管理局",
    "市信访办",
    "市残疾人联合会",
    "市妇女联合会",
    "市总工会",
    "市邮政管理局",
    "市通信管理局",
    "市供电公司",
    "市燃气集团",
    "市自来水集团",
    "市热力集团",
    "市公交集团",
    "市地铁运营公司",
    "市住房公积金管理中心",
]
HOTLINE_CENTRE = "市民热线服务中心"
# Per district: (code suffix, name suffix appended to the district's name).
DISTRICT_DEPARTMENTS = [("B001", "城市管理委员会"), ("B002", "住房和城乡建设委员会")]
# Stations in every street: (city department, code tag, name suffix).
STATION_KINDS = [
    ("市公安局", "派出所"),
    ("市市场监督管理局", "市场监管所"),
    ("市城管执法局", "城管执法队"),
]
